"""The run's time series: one interval (1 s by default) of every HTTP metric, overall and per request name.

The runner folds the raw values into the HDR histograms once a second (`Registry.fold`); `TimeSeries` is a sink
fed right after that fold. It takes the difference of the cumulative counters and HDR counts since the previous
fold, so the per-request hot path does nothing more than it already did, and every chart drawn from the series is
exact: an interval's histogram holds the bucket counts of the requests that completed in it, not a sample.

Which interval a fold belongs to: the one holding the midpoint between the previous fold and this one (the runner
folds on whole wall-clock seconds, so with 1 s intervals each fold closes one interval). Intervals are aligned on
the wall clock (`t` = epoch seconds, a multiple of the interval), so two generators' lines for the same `t` add up
to what one generator doing both would have measured: `merge_lines`.

Several sources (the workers of a run, or the scenarios of one process) feed deltas instead (`follow_deltas`,
`add_delta`): each delta is assigned to an interval by the same rule, a source's intervals never go back, and an
interval closes once every source still running has moved past it, so the lines are exactly the sum of what each
source's own series would have been (`merge_lines` of them).

Memory: an interval keeps, per request name, the non-zero buckets of `http_req_duration` and `http_req_latency`
as numpy arrays (a uint16 bucket index and the smallest unsigned type that holds the counts: 3 bytes a bucket at
up to 255 requests per bucket and second); the overall histograms are the sum of the names' and are computed
when a line is encoded. Measured (tests/unit/load/metrics/test_timeseries.py): one request name at 1,000 req/s
with latencies spread over two decades fills ~850 buckets a second per histogram, so 30 minutes cost ~9 MB of
histograms per request name, plus ~1 KB of Python objects per interval; 100 req/s cost about a tenth of that.

Line schema (one JSON object per line; docs/reports.md documents it for users):
`{"v": 1, "t": EPOCH, "interval_s": 1, "http_reqs": N, "http_req_failed": N, "iterations": N,
"dropped_iterations": N, "data_sent": BYTES, "data_received": BYTES, "vus": N, "vus_max": N,
"checks": {NAME: [passes, fails]}, "errors": {CLASS: N}, "http_req_duration": H, "http_req_latency": H,
"iteration_duration": H, "by_name": {NAME: {"http_reqs": N, "http_req_failed": N, "http_req_duration": H,
"http_req_latency": H}}}` where H is `{"i": [bucket index, ...], "c": [count, ...]}` in the counts layout of
`greenflag.hdr` (microseconds, ascending indices).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from greenflag.load.metrics.delta import Delta, DiffTaker
from greenflag.load.metrics.intervals import COUNTERS, NAME_TRENDS, Interval, Sparse
from greenflag.load.metrics.series import Registry

__all__ = ["TimeSeries"]

_LOCAL = ""  # the source name of the registry's own diffs


@dataclass
class _NameAcc:
    reqs: int = 0
    failed: int = 0
    hists: dict[str, list[Sparse]] = field(default_factory=lambda: {m: [] for m in NAME_TRENDS})


@dataclass
class _Acc:
    """One open interval: what the deltas assigned to it add up to."""

    names: dict[str, _NameAcc] = field(default_factory=dict)
    scalars: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    gauges: dict[str, tuple[int, int]] = field(default_factory=dict)  # source → (vus, vus_max), the latest
    checks: dict[str, list[int]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    iteration: list[Sparse] = field(default_factory=list)

    def add(self, source: str, delta: Delta) -> None:
        for part in delta.series:
            acc = self.names.setdefault(part.name, _NameAcc())
            acc.reqs += part.reqs
            acc.failed += part.failed
            for metric in NAME_TRENDS:
                hist = part.hists.get(metric)
                if hist is not None:
                    acc.hists[metric].append(hist.sparse)
        for name, value in delta.totals().items():
            self.scalars[name] += value
        self.gauges[source] = (delta.vus, delta.vus_max)
        for name, (passes, fails) in delta.checks.items():
            entry = self.checks.setdefault(name, [0, 0])
            entry[0] += passes
            entry[1] += fails
        for name, count in delta.error_classes().items():
            self.errors[name] = self.errors.get(name, 0) + count
        if delta.iteration_duration is not None:
            self.iteration.append(delta.iteration_duration.sparse)


class TimeSeries:
    """A runner sink: `add()` after each fold, `flush()` at the end. `on_line(line)` gets each closed interval's
    JSON line (to write it, or stream it to a dashboard) as soon as it closes; `intervals` keeps them all (with
    `keep=False`, none: a long run that only writes its series holds no interval in memory).
    After `follow_deltas()` it reads no registry: sources feed it with `add_delta` and say `end_source`."""

    def __init__(
        self,
        registry: Registry,
        *,
        interval_s: int = 1,
        on_line: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.time,
        keep: bool = True,
    ) -> None:
        if interval_s < 1 or int(interval_s) != interval_s:
            raise ValueError("the time series interval is a whole number of seconds (1s, 5s, 1m)")
        self.registry = registry
        self.interval_s = int(interval_s)
        self.on_line = on_line
        self.clock = clock
        self.intervals: list[Interval] = []  # every closed interval, unless `keep` is False (lines only go to on_line)
        self.keep = keep
        self._last_fold = self._started = clock()
        self._diff: DiffTaker | None = DiffTaker(registry)
        self._open: dict[int, _Acc] = {}
        self._keys: dict[str, int] = {}  # source → the interval of its latest delta
        self._ended: set[str] = set()
        self._waiting: set[str] = set()  # sources announced that have sent nothing yet
        self._closed_upto: int | None = None  # intervals up to here are written: a late delta goes to the next one

    # -- the sink ------------------------------------------------------------------------------------------
    def add(self) -> None:
        if self._diff is None:
            self._close_ready()
            return
        now = self.clock()
        self._feed(_LOCAL, self._diff.take(self._last_fold, now))
        self._close_ready()

    def flush(self) -> None:
        if self._diff is not None:
            self.registry.fold()
            self.add()
        self._close(None)

    # -- several sources -----------------------------------------------------------------------------------
    def follow_deltas(self, started: float | None = None) -> None:
        """From now on the intervals come from `add_delta`, not from this registry (`started`: the run's start,
        wall clock)."""
        self._diff = None
        if started is not None:
            self._last_fold = self._started = started

    def add_source(self, source: str) -> None:
        """A source that will send deltas: until its first one, no interval closes."""
        self._waiting.add(source)

    def add_delta(self, source: str, delta: Delta) -> None:
        self._feed(source, delta)
        self._close_ready()

    def end_source(self, source: str) -> None:
        """The source sends nothing more (finished, or gone): intervals no longer wait for it."""
        self._ended.add(source)
        self._waiting.discard(source)
        self._close_ready()

    # -- internals -----------------------------------------------------------------------------------------
    def _feed(self, source: str, delta: Delta) -> None:
        """Which interval a delta belongs to: the one holding the midpoint of the time it covers (the runner folds
        on whole wall-clock seconds, so with 1 s intervals each fold closes one interval); never one before the
        source's previous delta, nor one already written."""
        key = math.floor((delta.t0 + delta.t1) / 2.0 / self.interval_s) * self.interval_s
        key = max(key, self._keys.get(source, key))
        if self._closed_upto is not None:
            key = max(key, self._closed_upto + self.interval_s)
        self._keys[source] = key
        self._waiting.discard(source)
        self._last_fold = max(self._last_fold, delta.t1)
        self._open.setdefault(key, _Acc()).add(source, delta)

    def _close_ready(self) -> None:
        """Close every interval that each running source has moved past."""
        running = [key for source, key in self._keys.items() if source not in self._ended]
        if running and not self._waiting:
            self._close(min(running))

    def _close(self, before: int | None) -> None:
        """Close the open intervals before `before` (None: all of them), in order."""
        for key in sorted(self._open):
            if before is not None and key >= before:
                break
            self._emit(key, self._open.pop(key))

    def _emit(self, key: int, acc: _Acc) -> None:
        start, end = max(self._started, key), min(self._last_fold, key + self.interval_s)
        interval = Interval(
            t=key,
            covered_s=round(max(0.0, end - start), 3),
            interval_s=self.interval_s,
            counters=dict(acc.scalars),
            vus=sum(v for v, _ in acc.gauges.values()),
            vus_max=sum(m for _, m in acc.gauges.values()),
            checks=acc.checks,
            errors=acc.errors,
            iteration_duration=Sparse.add(acc.iteration),
            by_name={
                name: (
                    name_acc.reqs,
                    name_acc.failed,
                    Sparse.add(name_acc.hists[NAME_TRENDS[0]]),
                    Sparse.add(name_acc.hists[NAME_TRENDS[1]]),
                )
                for name, name_acc in acc.names.items()
                if name_acc.reqs
            },
        )
        if self.keep:
            self.intervals.append(interval)
        self._closed_upto = key
        if self.on_line is not None:
            self.on_line(interval.to_json())

    def lines(self) -> list[dict[str, Any]]:
        return [interval.to_json() for interval in self.intervals]

    @property
    def nbytes(self) -> int:
        """Bytes held by the kept intervals' histograms (numpy arrays)."""
        return sum(interval.nbytes for interval in self.intervals)
