"""Per-backend traffic statistics in 1 s buckets kept 5 minutes, bounded in memory.

Recording (hot path) appends the latency to the current second's `array('q')` and bumps a counter. When a
second ends its raw values are folded with numpy into sparse HDR counts (bucket index → count, the layout
HdrHistogram uses at 3 significant digits), so a busy second costs a few KB, not a full counts array.
Queries merge the seconds of a window into a `greenflag.hdr.Histogram` for percentiles and buckets.

Synthetic requests (greenflag's analysis traffic, tagged with the router's key) are counted twice: with every
other request, and in a series of their own (`StatsStore.synthetic`), so a window reports all traffic and its
synthetic part, and users' numbers are the difference. `export` gives each complete second of each backend, the
shape `GET /stats/export` writes as JSON lines (docs/router.md).
"""

from __future__ import annotations

import dataclasses
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from greenflag.hdr import COUNTS_LEN, Histogram, bucket_upper, counts_index
from greenflag.traffic.base import BackendWindow

__all__ = [
    "CLASSES",
    "BackendSeries",
    "StatsStore",
    "second_to_json",
    "window_from_json",
    "window_to_json",
]

CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
KEEP_S = 300
Int64s = np.ndarray[Any, np.dtype[np.int64]]


@dataclass
class _Second:
    second: int
    counts: list[int] = field(default_factory=lambda: [0] * 6)  # 1xx..5xx, transport errors
    raw: array[int] | None = field(default_factory=lambda: array("q"))
    index: Int64s | None = None  # sparse HDR counts once folded
    count: Int64s | None = None

    def fold(self) -> None:
        if self.raw is None:
            return
        values = np.frombuffer(self.raw, dtype=np.int64) if len(self.raw) else np.zeros(0, dtype=np.int64)
        self.index, self.count = np.unique(counts_index(values), return_counts=True)
        self.raw = None

    def sparse(self) -> tuple[Int64s, Int64s]:
        if self.raw is not None:
            values = np.frombuffer(self.raw, dtype=np.int64) if len(self.raw) else np.zeros(0, dtype=np.int64)
            idx, cnt = np.unique(counts_index(values), return_counts=True)
            return idx, cnt
        assert self.index is not None and self.count is not None
        return self.index, self.count


class BackendSeries:
    """One backend's seconds (newest last) plus cumulative totals since start (for Prometheus)."""

    __slots__ = ("_current", "_seconds", "latency_sum_us", "prom_buckets", "totals")

    PROM_BOUNDS_MS = (1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0)

    def __init__(self) -> None:
        self._seconds: deque[_Second] = deque()
        self._current: _Second | None = None
        self.totals = [0] * 6
        self.latency_sum_us = 0
        self.prom_buckets = [0] * (len(self.PROM_BOUNDS_MS) + 1)

    def record(self, second: int, kind: int, latency_us: int) -> None:
        cur = self._current
        if cur is None or cur.second != second:
            cur = self._roll(second)
        cur.counts[kind] += 1
        assert cur.raw is not None
        cur.raw.append(latency_us)
        self.totals[kind] += 1

    def _roll(self, second: int) -> _Second:
        if self._current is not None:
            self._fold_into_totals(self._current)
        cur = _Second(second)
        self._current = cur
        self._seconds.append(cur)
        while self._seconds and self._seconds[0].second <= second - KEEP_S:
            self._seconds.popleft()
        return cur

    def _fold_into_totals(self, sec: _Second) -> None:
        raw = sec.raw
        if raw is not None and len(raw):
            values = np.frombuffer(raw, dtype=np.int64)
            self.latency_sum_us += int(values.sum())
            bounds = np.array(self.PROM_BOUNDS_MS) * 1000.0
            hist = np.bincount(np.searchsorted(bounds, values, side="left"), minlength=len(bounds) + 1)
            for i, n in enumerate(hist.tolist()):
                self.prom_buckets[i] += n
        sec.fold()

    def flush(self, now_second: int) -> None:
        """Fold the current second once it is over (queries and scrapes call this)."""
        if self._current is not None and self._current.second < now_second:
            self._fold_into_totals(self._current)
            self._current = None

    def seconds(self, first: int, now_second: int) -> list[tuple[int, list[int], list[tuple[float, int]]]]:
        """The complete seconds from `first` on, before `now_second`: (second, counts by kind, latency buckets)."""
        out = []
        for sec in self._seconds:
            if first <= sec.second < now_second:
                idx, cnt = sec.sparse()
                out.append((sec.second, list(sec.counts), _buckets_ms(idx, cnt)))
        return out

    def window(self, name: str, now_second: int, window_s: float) -> BackendWindow:
        first = now_second - max(1, round(window_s)) + 1
        counts = [0] * 6
        indices: list[Int64s] = []
        weights: list[Int64s] = []
        for sec in reversed(self._seconds):
            if sec.second < first:
                break
            if sec.second > now_second:
                continue
            counts = [a + b for a, b in zip(counts, sec.counts, strict=True)]
            idx, cnt = sec.sparse()
            indices.append(idx)
            weights.append(cnt)
        return _make_window(name, window_s, counts, indices, weights)


def _make_window(
    name: str, window_s: float, counts: list[int], indices: list[Int64s], weights: list[Int64s]
) -> BackendWindow:
    responses = {cls: counts[i] for i, cls in enumerate(CLASSES) if counts[i]}
    requests = sum(counts)
    if not indices or requests == 0:
        return BackendWindow(name, window_s, requests, responses, counts[5])
    # the seconds' sparse counts summed into one HDR counts array at once (not bucket by bucket: a 300 s lookback
    # has thousands of them, and the analysis merges windows on the event loop every interval)
    merged = np.zeros(COUNTS_LEN, dtype=np.int64)
    np.add.at(merged, np.concatenate(indices), np.concatenate(weights))
    hist = Histogram.from_counts(merged)
    buckets = tuple((u / 1000.0, c) for u, c in hist.buckets())
    p50, p95, p99 = (hist.percentile(p) / 1000.0 for p in (50.0, 95.0, 99.0))
    return BackendWindow(name, window_s, requests, responses, counts[5], buckets, p50, p95, p99)


def _buckets_ms(idx: Int64s, cnt: Int64s) -> list[tuple[float, int]]:
    """Sparse HDR counts → (upper bound ms, count), sorted, as the windows report them."""
    order = np.argsort(idx)
    return [(u / 1000.0, int(c)) for u, c in zip(bucket_upper(idx[order]).tolist(), cnt[order].tolist(), strict=True)]


def window_to_json(w: BackendWindow) -> dict[str, Any]:
    """The JSON shape of one backend in `GET /stats` (docs/router.md)."""
    out: dict[str, Any] = {
        "requests": w.requests,
        "responses": {cls: w.responses.get(cls, 0) for cls in CLASSES},
        "transport_errors": w.transport_errors,
        "latency_ms": {"p50": w.p50_ms, "p95": w.p95_ms, "p99": w.p99_ms},
        "latency_buckets_ms": [[u, c] for u, c in w.latency_buckets],
    }
    if w.synthetic is not None:
        out["synthetic"] = window_to_json(w.synthetic)
    return out


def second_to_json(counts: list[int], buckets: list[tuple[float, int]]) -> dict[str, Any]:
    """One backend's second in `GET /stats/export`: requests, responses by class, transport errors, HDR buckets."""
    return {
        "requests": sum(counts),
        "responses": {cls: counts[i] for i, cls in enumerate(CLASSES)},
        "transport_errors": counts[5],
        "latency_buckets_ms": [[u, c] for u, c in buckets],
    }


def window_from_json(name: str, window_s: float, data: dict[str, Any]) -> BackendWindow:
    lat = data.get("latency_ms") or {}
    synthetic = data.get("synthetic")
    return BackendWindow(
        backend=name,
        window_s=window_s,
        requests=int(data["requests"]),
        responses={k: int(v) for k, v in data["responses"].items() if v},
        transport_errors=int(data["transport_errors"]),
        latency_buckets=tuple((float(u), int(c)) for u, c in data.get("latency_buckets_ms", [])),
        p50_ms=lat.get("p50"),
        p95_ms=lat.get("p95"),
        p99_ms=lat.get("p99"),
        synthetic=window_from_json(name, window_s, synthetic) if isinstance(synthetic, dict) else None,
    )


class StatsStore:
    """Series per backend name. `clock` gives seconds (monotonic); the bucket is its integer part."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.series: dict[str, BackendSeries] = {}
        self.synthetic: dict[str, BackendSeries] = {}  # the synthetic requests among `series`, by backend

    def record(self, backend: str, status: int, latency_us: int, synthetic: bool = False, *,
               second: int | None = None) -> None:
        """status 0 = transport error (the client got a 502 or a cut-off response); `second` defaults to now."""
        series = self.series.get(backend)
        if series is None:
            series = self.series[backend] = BackendSeries()
        kind = 5 if status == 0 else min(max(status // 100, 1), 5) - 1
        second = int(self._clock()) if second is None else second
        series.record(second, kind, latency_us)
        if synthetic:
            tagged = self.synthetic.get(backend)
            if tagged is None:
                tagged = self.synthetic[backend] = BackendSeries()
            tagged.record(second, kind, latency_us)

    def _window(self, store: dict[str, BackendSeries], name: str, now: int, window_s: float) -> BackendWindow:
        series = store.get(name)
        if series is None:
            return BackendWindow(name, window_s)
        series.flush(now)
        return series.window(name, now, window_s)

    def windows(self, names: list[str], window_s: float) -> dict[str, BackendWindow]:
        now = int(self._clock())
        out: dict[str, BackendWindow] = {}
        for name in names:
            window = self._window(self.series, name, now, window_s)
            synthetic = self._window(self.synthetic, name, now, window_s)
            out[name] = dataclasses.replace(window, synthetic=synthetic)
        return out

    def export(self, names: list[str], since_second: int) -> list[tuple[int, str, dict[str, Any]]]:
        """Every complete second from `since_second` on (the clock's seconds), per backend that served requests in
        it: (second, backend, `second_to_json` with its `synthetic` part), oldest first."""
        now = int(self._clock())
        out: list[tuple[int, str, dict[str, Any]]] = []
        for name in names:
            series = self.series.get(name)
            if series is None:
                continue
            series.flush(now)
            tagged = self.synthetic.get(name)
            if tagged is not None:
                tagged.flush(now)
            synthetic = {sec: (c, b) for sec, c, b in (tagged.seconds(since_second, now) if tagged else [])}
            for second, counts, buckets in series.seconds(since_second, now):
                line = second_to_json(counts, buckets)
                line["synthetic"] = second_to_json(*synthetic.get(second, ([0] * 6, [])))
                out.append((second, name, line))
        out.sort(key=lambda item: (item[0], item[1]))
        return out
