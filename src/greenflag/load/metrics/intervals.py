"""The time series' line format, pure: one interval's histograms as sparse HDR buckets (`Sparse`), percentiles
from them, reading JSONL lines back and merging several generators' lines exactly. `timeseries.py` records the
lines; docs/reports.md documents the schema for users."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from greenflag.hdr import COUNTS_LEN, add_up, bucket_upper

__all__ = [
    "COUNTERS",
    "NAME_TRENDS",
    "SCHEMA_VERSION",
    "Interval",
    "Sparse",
    "hist_percentiles",
    "merge_lines",
    "read_lines",
]
__pure__ = True

SCHEMA_VERSION = 1
NAME_TRENDS = ("http_req_duration", "http_req_latency")
COUNTERS = ("http_reqs", "http_req_failed", "iterations", "dropped_iterations", "data_sent", "data_received")

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Sparse:
    """The non-zero buckets of one interval's histogram (HDR counts layout)."""

    index: Array  # uint16, ascending
    count: Array  # the smallest of uint8, uint16, uint32 that holds the largest count

    @classmethod
    def of(cls, dense: Array) -> Sparse:
        nz = np.flatnonzero(dense)
        return cls.compact(nz, dense[nz])

    @classmethod
    def compact(cls, index: Array, counts: Array) -> Sparse:
        """Buckets given as (ascending, distinct) indexes and their counts, stored in the smallest types."""
        top = int(counts.max()) if len(counts) else 0
        small = np.uint8 if top < 256 else np.uint16 if top < 65536 else np.uint32 if top < 2**32 else np.uint64
        return cls(index.astype(np.uint16), counts.astype(small))

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
        # as long as the buckets in use, never as the highest one: no temporary that grows with the latency tail
        index, counts = add_up(
            np.concatenate([p.index for p in parts]).astype(np.int64),
            np.concatenate([p.count for p in parts]).astype(np.int64),
        )
        used = counts > 0
        return cls.compact(index[used], counts[used])

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
class Interval:
    """One closed interval, kept compact for the whole run."""

    t: int
    interval_s: int
    covered_s: float  # how much of the interval the run covered (less for the first and the last)
    counters: dict[str, int]
    vus: int
    vus_max: int
    checks: dict[str, list[int]]
    errors: dict[str, int]
    iteration_duration: Sparse
    by_name: dict[str, tuple[int, int, Sparse, Sparse]]  # name → (reqs, failed, duration, latency)

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {"v": SCHEMA_VERSION, "t": self.t, "interval_s": self.interval_s, **self.counters}
        if self.covered_s < self.interval_s:
            line["covered_s"] = self.covered_s
        line.update(vus=self.vus, vus_max=self.vus_max, checks=self.checks, errors=self.errors)
        line["http_req_duration"] = Sparse.add(v[2] for v in self.by_name.values()).to_json()
        line["http_req_latency"] = Sparse.add(v[3] for v in self.by_name.values()).to_json()
        line["iteration_duration"] = self.iteration_duration.to_json()
        line["by_name"] = {
            name: {"http_reqs": r, "http_req_failed": f, NAME_TRENDS[0]: d.to_json(), NAME_TRENDS[1]: lat.to_json()}
            for name, (r, f, d, lat) in sorted(self.by_name.items())
        }
        return line

    @property
    def nbytes(self) -> int:
        return self.iteration_duration.nbytes + sum(v[2].nbytes + v[3].nbytes for v in self.by_name.values())


# -- reading and merging lines (pure) ------------------------------------------------------------------------
def read_lines(text: str, source: str = "series") -> list[dict[str, Any]]:
    """Parse a JSONL series; a bad line is a ValueError naming the source and the line number."""
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(line, dict) or line.get("v") != SCHEMA_VERSION or not isinstance(line.get("t"), int | float):
            raise ValueError(f"{source}:{number}: not a greenflag time-series line (v {SCHEMA_VERSION}, t)")
        lines.append(line)
    return lines


def _add_hist(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, list[int]]:
    return Sparse.add([Sparse.from_json(a), Sparse.from_json(b)]).to_json()


def _merge_two(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key in (*COUNTERS, "vus", "vus_max"):
        out[key] = int(a.get(key, 0)) + int(b.get(key, 0))
    if "covered_s" in a or "covered_s" in b:
        covered = max(float(a.get("covered_s", a["interval_s"])), float(b.get("covered_s", b["interval_s"])))
        out.pop("covered_s", None)
        if covered < float(a["interval_s"]):
            out["covered_s"] = covered
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
