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

import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from greenflag.hdr import COUNTS_LEN, bucket_upper
from greenflag.load.metrics.series import Registry

__all__ = [
    "SCHEMA_VERSION",
    "Sparse",
    "TimeSeries",
    "hist_percentiles",
    "merge_lines",
    "read_lines",
]

SCHEMA_VERSION = 1
NAME_TRENDS = ("http_req_duration", "http_req_latency")
_COUNTERS = ("http_reqs", "http_req_failed", "iterations", "dropped_iterations", "data_sent", "data_received")

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Sparse:
    """The non-zero buckets of one interval's histogram (HDR counts layout)."""

    index: Array  # uint16, ascending
    count: Array  # the smallest of uint8, uint16, uint32 that holds the largest count

    @classmethod
    def of(cls, dense: Array) -> Sparse:
        nz = np.flatnonzero(dense)
        counts = dense[nz]
        small = np.uint8 if not len(counts) or counts.max() < 256 else np.uint16 if counts.max() < 65536 else np.uint32
        return cls(nz.astype(np.uint16), counts.astype(small))

    @classmethod
    def empty(cls) -> Sparse:
        return cls(np.zeros(0, np.uint16), np.zeros(0, np.uint32))

    @classmethod
    def add(cls, parts: Iterable[Sparse]) -> Sparse:
        parts = [p for p in parts if len(p.index)]
        if not parts:
            return cls.empty()
        if len(parts) == 1 and parts[0].count.dtype != np.uint64:
            return parts[0]
        dense = np.bincount(
            np.concatenate([p.index for p in parts]).astype(np.int64),
            weights=np.concatenate([p.count for p in parts]).astype(np.float64),
            minlength=COUNTS_LEN,
        )
        return cls.of(np.rint(dense).astype(np.int64))

    def to_json(self) -> dict[str, list[int]]:
        return {"i": self.index.tolist(), "c": self.count.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Sparse:
        if not data or not data.get("i"):
            return cls.empty()
        index = np.asarray(data["i"], dtype=np.int64)
        count = np.asarray(data["c"], dtype=np.int64)
        if index.shape != count.shape or index.min() < 0 or index.max() >= COUNTS_LEN or count.min() < 0:
            raise ValueError("histogram: 'i' and 'c' must be lists of the same length of bucket indexes and counts")
        order = np.argsort(index, kind="stable")
        return cls.add([cls(index[order].astype(np.uint16), count[order].astype(np.uint64))])

    @property
    def total(self) -> int:
        return int(self.count.sum())

    @property
    def nbytes(self) -> int:
        return int(self.index.nbytes + self.count.nbytes)


def hist_percentiles(hist: Sparse, ps: Iterable[float]) -> list[float | None]:
    """Percentiles in milliseconds with HdrHistogram's definition (the highest value of the bucket holding the
    rank); None for an empty histogram."""
    total = hist.total
    if total == 0:
        return [None for _ in ps]
    cumulative = np.cumsum(hist.count.astype(np.int64))
    upper = bucket_upper(hist.index.astype(np.int64))
    out: list[float | None] = []
    for p in ps:
        rank = max(1, int(p / 100.0 * total + 0.5))
        pos = min(int(np.searchsorted(cumulative, rank)), len(cumulative) - 1)
        out.append(round(int(upper[pos]) / 1000.0, 3))
    return out


@dataclass
class _NameAcc:
    reqs: int = 0
    failed: int = 0
    hists: dict[str, list[Sparse]] = field(default_factory=lambda: {m: [] for m in NAME_TRENDS})


@dataclass
class Interval:
    """One closed interval, kept compact for the whole run."""

    t: int
    interval_s: int
    counters: dict[str, int]
    vus: int
    vus_max: int
    checks: dict[str, list[int]]
    errors: dict[str, int]
    iteration_duration: Sparse
    by_name: dict[str, tuple[int, int, Sparse, Sparse]]  # name → (reqs, failed, duration, latency)

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {"v": SCHEMA_VERSION, "t": self.t, "interval_s": self.interval_s, **self.counters}
        line.update(vus=self.vus, vus_max=self.vus_max, checks=self.checks, errors=self.errors)
        line["http_req_duration"] = Sparse.add(v[2] for v in self.by_name.values()).to_json()
        line["http_req_latency"] = Sparse.add(v[3] for v in self.by_name.values()).to_json()
        line["iteration_duration"] = self.iteration_duration.to_json()
        line["by_name"] = {
            name: {"http_reqs": r, "http_req_failed": f, "http_req_duration": d.to_json(), "http_req_latency": lat.to_json()}
            for name, (r, f, d, lat) in sorted(self.by_name.items())
        }
        return line

    @property
    def nbytes(self) -> int:
        return self.iteration_duration.nbytes + sum(v[2].nbytes + v[3].nbytes for v in self.by_name.values())


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
        self._last_fold = clock()
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
        key = int(math.floor(epoch / self.interval_s)) * self.interval_s
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
        interval = Interval(
            t=self._open,
            interval_s=self.interval_s,
            counters={name: self._scalars.get(name, 0) for name in _COUNTERS},
            vus=self._scalars.get("vus", self.registry.vus),
            vus_max=self._scalars.get("vus_max", self.registry.vus_max),
            checks=self._checks,
            errors=self._errors,
            iteration_duration=Sparse.add(self._iter),
            by_name={
                name: (acc.reqs, acc.failed, Sparse.add(acc.hists[NAME_TRENDS[0]]), Sparse.add(acc.hists[NAME_TRENDS[1]]))
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


# -- reading and merging lines (pure) ------------------------------------------------------------------------
def read_lines(text: str, source: str = "series") -> list[dict[str, Any]]:
    """Parse a JSONL series; a bad line is a ValueError naming the source and the line number."""
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{source}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(line, dict) or line.get("v") != SCHEMA_VERSION or not isinstance(line.get("t"), int | float):
            raise ValueError(f"{source}:{number}: not a greenflag time-series line (v {SCHEMA_VERSION}, t)")
        lines.append(line)
    return lines


def _add_hist(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, list[int]]:
    return Sparse.add([Sparse.from_json(a), Sparse.from_json(b)]).to_json()


def _merge_two(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key in (*_COUNTERS, "vus", "vus_max"):
        out[key] = int(a.get(key, 0)) + int(b.get(key, 0))
    for key in ("checks", "errors"):
        merged: dict[str, Any] = {k: (list(v) if isinstance(v, list) else v) for k, v in a.get(key, {}).items()}
        for name, value in b.get(key, {}).items():
            if isinstance(value, list):
                old = merged.get(name, [0, 0])
                merged[name] = [old[0] + value[0], old[1] + value[1]]
            else:
                merged[name] = merged.get(name, 0) + value
        out[key] = merged
    for key in ("http_req_duration", "http_req_latency", "iteration_duration"):
        out[key] = _add_hist(a.get(key), b.get(key))
    names: dict[str, Any] = {}
    for name in sorted(set(a.get("by_name", {})) | set(b.get("by_name", {}))):
        x, y = a.get("by_name", {}).get(name, {}), b.get("by_name", {}).get(name, {})
        names[name] = {
            "http_reqs": x.get("http_reqs", 0) + y.get("http_reqs", 0),
            "http_req_failed": x.get("http_req_failed", 0) + y.get("http_req_failed", 0),
            **{m: _add_hist(x.get(m), y.get(m)) for m in NAME_TRENDS},
        }
    out["by_name"] = names
    return out


def merge_lines(*series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge several generators' series: lines with the same `t` add up exactly (counts and HDR buckets; VUs are
    summed, each generator running its own). Lines of different interval lengths cannot be merged."""
    by_t: dict[int, dict[str, Any]] = {}
    lengths = {int(line.get("interval_s", 1)) for lines in series for line in lines}
    if len(lengths) > 1:
        raise ValueError(f"series with different intervals cannot be merged: {sorted(lengths)} s")
    for lines in series:
        for line in lines:
            t = int(line["t"])
            by_t[t] = line if t not in by_t else _merge_two(by_t[t], line)
    return [by_t[t] for t in sorted(by_t)]
