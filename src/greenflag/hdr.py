"""HDR latency histograms: 1 µs to 1 h at 3 significant digits, mergeable, cheap to record.

Recording appends the raw value to an `array('q')` (~0.1 µs); every few thousand values the raw values are
folded with numpy into counts laid out exactly as HdrHistogram lays them out (same bucket index), so
percentiles carry HDR's 0.1 % precision, memory stays bounded, and `to_hdrh()` gives a histogram the
`hdrhistogram` library can encode into the standard interoperable log format.

The counts array holds the buckets up to at least eight times the highest value recorded so far (in steps of 1,024
buckets, one per doubling of the value, 8 KiB each), not all 23,552 of them (184 KiB): a phase that is a few hundred
microseconds when it is not zero, or a rare event's histogram, costs 32 KiB. The headroom of three doublings cuts
how often a long run's histograms grow: a latency tail that widens as the run goes on (a stall at minute 2 of
110 ms, at minute 12 of 300 ms) is held by the array sized at its first outlier, instead of growing it (and leaving
a freed array behind) at every new maximum. The array is still sized by the values of the first fold, so each
histogram grows once or twice in a run, when its first large outlier comes. A histogram is never shrunk; its size
is bounded by the 184 KiB of the range.

One layout serves the load engine and the router: `counts_index` (value → bucket index), `bucket_bounds`
(index → lowest equivalent value and bucket size) and `bucket_upper` (index → highest equivalent value) are the
only copy of HdrHistogram's bucket arithmetic in greenflag.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

__all__ = [
    "COUNTS_LEN",
    "HIGHEST_US",
    "LOWEST_US",
    "SIGNIFICANT_DIGITS",
    "Histogram",
    "bucket_bounds",
    "bucket_upper",
    "counts_index",
]
__pure__ = True

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour
SIGNIFICANT_DIGITS = 3
_SUB_BUCKET_HALF_MAGNITUDE = 10  # ceil(log2(2 * 10**3)) - 1
_SUB_BUCKET_HALF = 1 << _SUB_BUCKET_HALF_MAGNITUDE  # 1024
_SUB_BUCKET_MASK = (2 * _SUB_BUCKET_HALF) - 1  # 2047
_BUCKET_COUNT = 22  # buckets needed so that 2048 << (n - 1) > HIGHEST_US
COUNTS_LEN = (_BUCKET_COUNT + 1) * _SUB_BUCKET_HALF  # 23552, as HdrHistogram computes it
_FOLD_AT = 8192
_GROW = _SUB_BUCKET_HALF  # the counts array grows in steps of this many buckets (one doubling of the value)
_HEADROOM = 3  # doublings held beyond the highest value recorded when the array is made or grown


def _length(highest_index: int) -> int:
    """The counts length that holds `highest_index` and three more doublings: a multiple of _GROW, at most
    COUNTS_LEN."""
    return min(COUNTS_LEN, (highest_index // _GROW + 1 + _HEADROOM) * _GROW)


def counts_index(values: np.ndarray[Any, np.dtype[np.int64]]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """HdrHistogram's counts index for each value (unit magnitude 0, 3 significant digits)."""
    v = np.clip(values, 0, HIGHEST_US)
    _, exponent = np.frexp((v | _SUB_BUCKET_MASK).astype(np.float64))  # exponent == bit_length for ints < 2**53
    bucket = exponent.astype(np.int64) - (_SUB_BUCKET_HALF_MAGNITUDE + 1)
    sub_bucket = v >> bucket
    index = ((bucket + 1) << _SUB_BUCKET_HALF_MAGNITUDE) + sub_bucket - _SUB_BUCKET_HALF
    return np.asarray(index, dtype=np.int64)


def bucket_bounds(index: np.ndarray[Any, np.dtype[np.int64]]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(lowest equivalent value, bucket size) for each counts index."""
    bucket = (index >> _SUB_BUCKET_HALF_MAGNITUDE) - 1
    sub_bucket = (index & (_SUB_BUCKET_HALF - 1)) + _SUB_BUCKET_HALF
    low_bucket = bucket < 0
    sub_bucket = np.where(low_bucket, sub_bucket - _SUB_BUCKET_HALF, sub_bucket)
    bucket = np.where(low_bucket, 0, bucket)
    return sub_bucket << bucket, np.left_shift(1, bucket)


def bucket_upper(index: np.ndarray[Any, np.dtype[np.int64]]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Highest value that lands in each counts index (HdrHistogram's highest equivalent value)."""
    low, size = bucket_bounds(index)
    return np.asarray(low + size - 1, dtype=np.int64)


class Histogram:
    """Values in integer microseconds. Not thread-safe; one per metric per event loop."""

    __slots__ = ("_counts", "_max", "_min", "_raw", "_sum", "_total")

    def __init__(self) -> None:
        self._raw = array("q")
        self._counts: np.ndarray[Any, np.dtype[np.int64]] | None = None
        self._total = 0
        self._sum = 0
        self._min = 0
        self._max = 0

    # -- recording ---------------------------------------------------------------------------------------
    def record(self, value_us: int) -> None:
        raw = self._raw
        raw.append(value_us)
        if len(raw) >= _FOLD_AT:
            self._fold()

    def record_many(self, values: array[int] | list[int]) -> None:
        self._raw.extend(values)
        if len(self._raw) >= _FOLD_AT:
            self._fold()

    def record_count(self, value_us: int, count: int) -> None:
        """Record `count` occurrences of one value (e.g. the zero phases of keep-alive requests)."""
        if count <= 0:
            return
        self._fold()
        index = int(counts_index(np.array([value_us], dtype=np.int64))[0])
        self._ensure_counts(index)[index] += count
        self._note(value_us, value_us, value_us * count, count)

    def _ensure_counts(self, highest_index: int = 0) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The counts array, grown (never shrunk) to hold bucket `highest_index`, with headroom."""
        counts = self._counts
        if counts is None:
            counts = self._counts = np.zeros(_length(highest_index), dtype=np.int64)
        elif len(counts) <= highest_index:
            grown = np.zeros(_length(highest_index), dtype=np.int64)
            grown[: len(counts)] = counts
            counts = self._counts = grown
        return counts

    def _note(self, low: int, high: int, total: int, count: int) -> None:
        if self._total == 0:
            self._min, self._max = low, high
        else:
            self._min = min(self._min, low)
            self._max = max(self._max, high)
        self._sum += total
        self._total += count

    def _fold(self) -> None:
        if not self._raw:
            return
        values = np.clip(np.array(self._raw, dtype=np.int64), 0, HIGHEST_US)
        del self._raw[:]  # cleared in place: hot paths may hold a bound `raw.append`
        index = counts_index(values)
        counts = self._ensure_counts(int(index.max()))
        added = np.bincount(index)  # up to the batch's highest bucket
        counts[: len(added)] += added
        self._note(int(values.min()), int(values.max()), int(values.sum()), len(values))

    # -- reading -----------------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return self._total + len(self._raw)

    @property
    def min(self) -> int:
        self._fold()
        return self._min

    @property
    def max(self) -> int:
        self._fold()
        return self._max

    @property
    def mean(self) -> float:
        self._fold()
        return self._sum / self._total if self._total else 0.0

    def percentile(self, p: float) -> float:
        """Value at percentile p (0..100), HdrHistogram's definition: the highest value equivalent to the
        bucket holding the rank, capped at the recorded max (so p100 == max)."""
        self._fold()
        if self._total == 0 or self._counts is None:
            return 0.0
        rank = max(1, int(p / 100.0 * self._total + 0.5))
        cumulative = np.cumsum(self._counts)
        index = int(np.searchsorted(cumulative, rank))
        low, size = bucket_bounds(np.array([index], dtype=np.int64))
        value = int(low[0]) + int(size[0]) - 1
        return float(min(max(value, self._min), self._max))

    def percentiles(self, ps: list[float]) -> list[float]:
        return [self.percentile(p) for p in ps]

    def buckets(self) -> list[tuple[int, int]]:
        """Non-empty buckets as (highest equivalent value µs, count), ascending."""
        self._fold()
        if self._counts is None:
            return []
        index = np.nonzero(self._counts)[0].astype(np.int64)
        low, size = bucket_bounds(index)
        return [(int(lo + sz - 1), int(c)) for lo, sz, c in zip(low, size, self._counts[index], strict=True)]

    # -- combining ---------------------------------------------------------------------------------------
    def merge(self, other: Histogram) -> None:
        """Add another histogram's counts (exact: same layout)."""
        other._fold()
        self._fold()
        if other._total == 0 or other._counts is None:
            return
        top = int(np.flatnonzero(other._counts)[-1]) + 1  # its highest bucket used, not its headroom
        counts = self._ensure_counts(top - 1)
        counts[:top] += other._counts[:top]
        self._note(other._min, other._max, other._sum, other._total)

    def add_sparse(
        self,
        index: np.ndarray[Any, Any],
        counts: np.ndarray[Any, Any],
        *,
        total: int,
        low: int,
        high: int,
    ) -> None:
        """Add counts given as (ascending, distinct) bucket indexes and their counts, with the values' sum and their
        exact min and max: another process's histogram, shipped sparse, merged without a dense copy (exact)."""
        n = int(counts.sum()) if len(counts) else 0
        if n == 0:
            return
        self._fold()
        where = index.astype(np.int64)
        dense = self._ensure_counts(int(where.max()))
        dense[where] += counts.astype(np.int64)
        self._note(low, high, total, n)

    def take(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], int, int, int, int] | None:
        """Everything recorded so far as (index, counts, count, sum, min, max), and start over (the raw buffer stays
        the same object, so hot paths holding its bound `append` keep recording). None when nothing was recorded."""
        self._fold()
        if self._total == 0 or self._counts is None:
            return None
        index = np.flatnonzero(self._counts)
        taken = (index, self._counts[index], self._total, self._sum, self._min, self._max)
        self._counts[index] = 0
        self._total = self._sum = self._min = self._max = 0
        return taken

    def changes(
        self, seen: np.ndarray[Any, np.dtype[np.int64]] | None
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, np.dtype[np.int64]]]:
        """What was recorded since an earlier look, for a caller that diffs a histogram that keeps counting (once a
        second, say): (bucket indexes that gained counts, ascending; the counts they gained; `seen` brought up to
        date). `seen` is what the previous call returned (None: the first look, everything is new). It is updated
        in place and only grows with the histogram, so a look allocates nothing the size of the whole range."""
        self._fold()
        counts = self._counts
        if counts is None:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, seen if seen is not None else empty
        if seen is None or len(seen) < len(counts):
            grown = np.zeros(len(counts), dtype=np.int64)
            if seen is not None:
                grown[: len(seen)] = seen
            seen = grown
        before = seen[: len(counts)]
        index = np.flatnonzero(counts != before)
        gained = counts[index] - before[index]
        before[index] = counts[index]
        return index, gained, seen

    def copy(self) -> Histogram:
        clone = Histogram()
        clone.merge(self)
        return clone

    @property
    def raw(self) -> array[int]:
        """The unfolded values. Appending to it directly is the cheapest way to record; whoever does so must
        call `fold()` now and then (the load runner folds once a second) to keep memory bounded."""
        return self._raw

    def fold(self) -> None:
        self._fold()

    def counts(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """A copy of the folded counts (HdrHistogram layout)."""
        self._fold()
        dense = np.zeros(COUNTS_LEN, dtype=np.int64)
        if self._counts is not None:
            dense[: len(self._counts)] = self._counts
        return dense

    @classmethod
    def from_counts(cls, counts: np.ndarray[Any, np.dtype[np.int64]]) -> Histogram:
        """A histogram from counts alone (min, max and mean are bucket-precise, not exact)."""
        hist = cls()
        index = np.nonzero(counts)[0].astype(np.int64)
        if len(index):
            low, size = bucket_bounds(index)
            hist._ensure_counts(int(index[-1]))[: int(index[-1]) + 1] = counts[: int(index[-1]) + 1]
            total = int(counts[index].sum())
            mid = low + size // 2
            hist._note(int(low[0]), int(low[-1] + size[-1] - 1), int((mid * counts[index]).sum()), total)
        return hist

    def reset(self) -> None:
        del self._raw[:]
        self._counts = None
        self._total = self._sum = self._min = self._max = 0

    def to_dict(self) -> dict[str, Any]:
        """Sparse, JSON/msgpack-friendly form for shipping deltas between processes."""
        self._fold()
        if self._counts is None:
            return {"n": 0}
        index = np.nonzero(self._counts)[0]
        return {
            "n": self._total,
            "sum": self._sum,
            "min": self._min,
            "max": self._max,
            "i": index.tolist(),
            "c": self._counts[index].tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        hist = cls()
        if data.get("n", 0):
            index = np.asarray(data["i"], dtype=np.int64)
            counts = hist._ensure_counts(int(index.max()) if len(index) else 0)
            counts[index] = np.asarray(data["c"], dtype=np.int64)
            hist._note(int(data["min"]), int(data["max"]), int(data["sum"]), int(data["n"]))
        return hist

    def to_hdrh(self) -> Any:
        """An `hdrh.histogram.HdrHistogram` with identical counts (for the interoperable log format)."""
        from hdrh.histogram import HdrHistogram

        self._fold()
        hdr = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        if self._counts is not None:
            for index in np.nonzero(self._counts)[0]:
                low, _ = bucket_bounds(np.array([index], dtype=np.int64))
                hdr.record_value(int(low[0]), int(self._counts[index]))
        return hdr
