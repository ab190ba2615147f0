"""The run's time series: one interval (1 s by default) of every HTTP metric, overall and per request name.

The runner folds the raw values into the HDR histograms once a second (`Registry.fold`); `TimeSeries` is a sink
fed right after that fold. It takes the difference of the cumulative counters and HDR counts since the previous
fold, so the per-request hot path does nothing more than it already did, and every chart drawn from the series is
exact: an interval's histogram holds the bucket counts of the requests that completed in it, not a sample.

Which interval a fold belongs to: the one holding the midpoint between the previous fold and this one (the runner
folds on whole wall-clock seconds, so with 1 s intervals each fold closes one interval). Intervals are aligned on
the wall clock (`t` = epoch seconds, a multiple of the interval), so two generators' lines for the same `t` add up
to what one generator doing both would have measured: `merge_lines`.

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

import numpy as np

from greenflag.hdr import COUNTS_LEN
from greenflag.load.metrics.intervals import COUNTERS, NAME_TRENDS, Interval, Sparse
from greenflag.load.metrics.series import Registry

__all__ = ["TimeSeries"]

Array = np.ndarray[Any, Any]


@dataclass
class _NameAcc:
    reqs: int = 0
    failed: int = 0
    hists: dict[str, list[Sparse]] = field(default_factory=lambda: {m: [] for m in NAME_TRENDS})


class TimeSeries:
    """A runner sink: `add()` after each fold, `flush()` at the end. `on_line(line)` gets each closed interval's
    JSON line (to write it, or stream it to a dashboard) as soon as it closes; `intervals` keeps them all."""

    def __init__(
        self,
        registry: Registry,
        *,
        interval_s: int = 1,
        on_line: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval_s < 1 or int(interval_s) != interval_s:
            raise ValueError("the time series interval is a whole number of seconds (1s, 5s, 1m)")
        self.registry = registry
        self.interval_s = int(interval_s)
        self.on_line = on_line
        self.clock = clock
        self.intervals: list[Interval] = []
        self._last_fold = self._started = clock()
        self._prev_series: dict[Any, tuple[int, int, Array, Array]] = {}
        self._prev_iter = np.zeros(COUNTS_LEN, np.int64)
        self._prev_scalars: dict[str, int] = {}
        self._prev_checks: dict[str, tuple[int, int]] = {}
        self._prev_errors: dict[str, int] = {}
        self._open: int | None = None
        self._acc: dict[str, _NameAcc] = {}
        self._scalars: dict[str, int] = {}
        self._checks: dict[str, list[int]] = {}
        self._errors: dict[str, int] = {}
        self._iter: list[Sparse] = []

    # -- the sink ------------------------------------------------------------------------------------------
    def add(self) -> None:
        now = self.clock()
        key = self._key((self._last_fold + now) / 2.0)
        self._last_fold = now
        if self._open is not None and key > self._open:
            self._close()
        if self._open is None:
            self._open = key
        self._take()

    def flush(self) -> None:
        self.registry.fold()
        self.add()
        self._close()

    # -- internals -----------------------------------------------------------------------------------------
    def _key(self, epoch: float) -> int:
        key = math.floor(epoch / self.interval_s) * self.interval_s
        return key if self._open is None else max(key, self._open)

    def _take(self) -> None:
        """Add what changed since the previous fold to the open interval."""
        reg = self.registry
        for skey, series in reg.series.items():
            duration, latency = series.duration.counts(), series.latency.counts()
            prev = self._prev_series.get(skey)
            self._prev_series[skey] = (series.reqs, series.failed, duration, latency)
            if prev is not None:
                if series.reqs == prev[0]:
                    continue
                duration, latency = duration - prev[2], latency - prev[3]
            acc = self._acc.setdefault(series.name, _NameAcc())
            acc.reqs += series.reqs - (prev[0] if prev else 0)
            acc.failed += series.failed - (prev[1] if prev else 0)
            acc.hists["http_req_duration"].append(Sparse.of(duration))
            acc.hists["http_req_latency"].append(Sparse.of(latency))
        totals = reg.http_totals()
        scalars = {
            "http_reqs": totals["reqs"],
            "http_req_failed": totals["failed"],
            "iterations": reg.iterations,
            "dropped_iterations": reg.dropped_iterations,
            "data_sent": totals["bytes_sent"],
            "data_received": totals["bytes_recv"],
        }
        for name, value in scalars.items():
            self._scalars[name] = self._scalars.get(name, 0) + value - self._prev_scalars.get(name, 0)
        self._prev_scalars = scalars
        self._scalars["vus"], self._scalars["vus_max"] = reg.vus, reg.vus_max
        for name, (passes, fails) in reg.checks.items():
            p0, f0 = self._prev_checks.get(name, (0, 0))
            if passes != p0 or fails != f0:
                entry = self._checks.setdefault(name, [0, 0])
                entry[0] += passes - p0
                entry[1] += fails - f0
            self._prev_checks[name] = (passes, fails)
        errors = reg.errors_by_class()
        for name, count in errors.items():
            if count != self._prev_errors.get(name, 0):
                self._errors[name] = self._errors.get(name, 0) + count - self._prev_errors.get(name, 0)
        self._prev_errors = errors
        iteration = reg.iteration_duration.counts()
        if reg.iteration_duration.count:
            self._iter.append(Sparse.of(iteration - self._prev_iter))
        self._prev_iter = iteration

    def _close(self) -> None:
        if self._open is None:
            return
        start, end = max(self._started, self._open), min(self._last_fold, self._open + self.interval_s)
        interval = Interval(
            t=self._open,
            covered_s=round(max(0.0, end - start), 3),
            interval_s=self.interval_s,
            counters={name: self._scalars.get(name, 0) for name in COUNTERS},
            vus=self._scalars.get("vus", self.registry.vus),
            vus_max=self._scalars.get("vus_max", self.registry.vus_max),
            checks=self._checks,
            errors=self._errors,
            iteration_duration=Sparse.add(self._iter),
            by_name={
                name: (
                    acc.reqs,
                    acc.failed,
                    Sparse.add(acc.hists[NAME_TRENDS[0]]),
                    Sparse.add(acc.hists[NAME_TRENDS[1]]),
                )
                for name, acc in self._acc.items()
                if acc.reqs
            },
        )
        self.intervals.append(interval)
        self._open = None
        self._acc, self._checks, self._errors, self._iter = {}, {}, {}, []
        self._scalars = {}
        if self.on_line is not None:
            self.on_line(interval.to_json())

    def lines(self) -> list[dict[str, Any]]:
        return [interval.to_json() for interval in self.intervals]

    @property
    def nbytes(self) -> int:
        """Bytes held by the kept intervals' histograms (numpy arrays)."""
        return sum(interval.nbytes for interval in self.intervals)
