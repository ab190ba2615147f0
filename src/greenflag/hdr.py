"""HDR latency histograms: 1 µs to 1 h at 3 significant digits, mergeable, cheap to record.

Recording appends the raw value to an `array('q')` (~0.1 µs); every few thousand values the raw values are
folded with numpy into counts laid out exactly as HdrHistogram lays them out (same bucket index), so
percentiles carry HDR's 0.1 % precision, memory stays bounded, and `to_hdrh()` gives a histogram the
`hdrhistogram` library can encode into the standard interoperable log format.

Each bucket in use is held in whichever form is smaller: dense (8 bytes a bucket from the first one up, in steps of
1,024 buckets, one doubling of the value) or sparse beyond them (16 bytes: index and count). A histogram starts
sparse; its dense part grows to the length that stores its buckets in the fewest bytes (`dense_length`), so a rare
outlier costs 16 bytes, not 8 KiB per doubling up to it. At most 16 bytes a bucket in use, at most 184 KiB.

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
    "Taken",
    "add_up",
    "bucket_bounds",
    "bucket_upper",
    "counts_index",
    "dense_length",
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
_GROW = _SUB_BUCKET_HALF  # the dense counts grow in steps of this many buckets (one doubling of the value)
_DENSE_BYTES = 8  # a dense bucket: its count
_SPARSE_BYTES = 16  # a sparse bucket: its index and its count
_Ints = np.ndarray[Any, np.dtype[np.int64]]
_EMPTY: _Ints = np.zeros(0, dtype=np.int64)
_EMPTY.flags.writeable = False
# (bucket indexes, counts: None for one per index, repeats allowed; min, max, sum, count) of one addition
_Added = tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]] | None, int, int, int, int]
# (bucket indexes ascending and distinct, their counts, count, sum, min, max): what `take` and `news` give
Taken = tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]], int, int, int, int]


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


def add_up(
    index: np.ndarray[Any, Any], counts: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Counts at bucket indexes that may repeat, summed per bucket: (the distinct indexes ascending, their counts),
    as long as the buckets given, never as the highest one."""
    distinct, where = np.unique(index, return_inverse=True)
    summed = np.zeros(len(distinct), dtype=np.int64)
    np.add.at(summed, where, counts)
    return distinct.astype(np.int64), summed


def dense_length(tail: np.ndarray[Any, np.dtype[np.int64]], length: int) -> int:
    """How many buckets to hold densely (a multiple of 1,024, at least `length`) when the buckets beyond `length`
    in use are `tail` (ascending, distinct): the length that stores them in the fewest bytes, at 8 bytes a dense
    bucket and 16 a sparse one (its index and its count). The shortest wins a tie."""
    candidates = np.arange(length, COUNTS_LEN + 1, _GROW, dtype=np.int64)
    beyond = len(tail) - np.searchsorted(tail, candidates)
    cost = _DENSE_BYTES * candidates + _SPARSE_BYTES * beyond
    return int(candidates[int(np.argmin(cost))])


def _add_dense(
    dense: np.ndarray[Any, np.dtype[np.int64]],
    index: np.ndarray[Any, np.dtype[np.int64]],
    counts: np.ndarray[Any, np.dtype[np.int64]] | None,
) -> None:
    if counts is None:  # one per entry, repeats allowed; no temporary as long as the dense part
        np.add.at(dense, index, 1)
    else:  # distinct indexes
        dense[index] += counts


class Histogram:
    """Values in integer microseconds. Not thread-safe; one per metric per event loop."""

    __slots__ = ("_counts", "_max", "_min", "_news", "_raw", "_sum", "_tail_counts", "_tail_index", "_total")

    def __init__(self) -> None:
        self._raw = array("q")
        self._counts: np.ndarray[Any, np.dtype[np.int64]] | None = None  # buckets 0 .. len - 1, dense
        self._tail_index = _EMPTY  # the buckets in use beyond the dense ones, ascending; replaced, never written to
        self._tail_counts = _EMPTY
        self._total = 0
        self._sum = 0
        self._min = 0
        self._max = 0
        self._news: list[_Added] | None = None  # what was added since the last `news()`, when watched

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
        index = counts_index(np.array([value_us], dtype=np.int64))
        self._put(index, np.array([count], dtype=np.int64), value_us, value_us, value_us * count, count)

    def _add(
        self, index: np.ndarray[Any, np.dtype[np.int64]], counts: np.ndarray[Any, np.dtype[np.int64]] | None
    ) -> None:
        """Add `counts` at the bucket `index`es (distinct), or one per entry of `index` (repeats allowed) when
        `counts` is None. Buckets beyond the dense ones go to the sparse tail, and the dense part then grows to
        whatever length holds them in the fewest bytes (`dense_length`)."""
        if len(index) == 0:
            return
        dense = self._counts
        length = 0 if dense is None else len(dense)
        if dense is not None and length > int(index.max()):  # all held densely: nearly always
            _add_dense(dense, index, counts)
            return
        inside = index < length
        if dense is not None:
            _add_dense(dense, index[inside], None if counts is None else counts[inside])
        outside = ~inside
        beyond = index[outside]
        extra = np.ones(len(beyond), dtype=np.int64) if counts is None else counts[outside]
        tail_index, tail_counts = add_up(
            np.concatenate((self._tail_index, beyond)), np.concatenate((self._tail_counts, extra))
        )
        grown = dense_length(tail_index, length)
        if grown > length:
            new = np.zeros(grown, dtype=np.int64)
            if dense is not None:
                new[:length] = dense
            moved = int(np.searchsorted(tail_index, grown))
            new[tail_index[:moved]] = tail_counts[:moved]
            tail_index, tail_counts = tail_index[moved:].copy(), tail_counts[moved:].copy()  # not views of the old
            self._counts = new
        self._tail_index, self._tail_counts = tail_index, tail_counts

    def _put(self, index: _Ints, counts: _Ints | None, low: int, high: int, total: int, count: int) -> None:
        """Add values (as `_add` takes them, with their min, max, sum and count); a watched histogram also keeps
        them for `news()`. The arrays kept are never written to afterwards."""
        self._add(index, counts)
        self._note(low, high, total, count)
        if self._news is not None:
            self._news.append((index, counts, low, high, total, count))

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
        self._put(counts_index(values), None, int(values.min()), int(values.max()), int(values.sum()), len(values))

    def _nonzero(self) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]]:
        """The buckets in use (ascending) and their counts, dense and sparse together."""
        if self._counts is None:
            return self._tail_index, self._tail_counts
        index = np.flatnonzero(self._counts).astype(np.int64)
        if not len(self._tail_index):
            return index, self._counts[index]
        return np.concatenate((index, self._tail_index)), np.concatenate((self._counts[index], self._tail_counts))

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

    @property
    def nbytes(self) -> int:
        """The memory of the folded counts: the dense buckets and the sparse tail."""
        dense = 0 if self._counts is None else self._counts.nbytes
        return int(dense + self._tail_index.nbytes + self._tail_counts.nbytes)

    def percentile(self, p: float) -> float:
        """Value at percentile p (0..100), HdrHistogram's definition: the highest value equivalent to the
        bucket holding the rank, capped at the recorded max (so p100 == max)."""
        self._fold()
        if self._total == 0:
            return 0.0
        rank = max(1, int(p / 100.0 * self._total + 0.5))
        index, counts = self._nonzero()
        at = min(int(np.searchsorted(np.cumsum(counts), rank)), len(index) - 1)
        value = int(bucket_upper(index[at : at + 1])[0])
        return float(min(max(value, self._min), self._max))

    def buckets(self) -> list[tuple[int, int]]:
        """Non-empty buckets as (highest equivalent value µs, count), ascending."""
        self._fold()
        index, counts = self._nonzero()
        return [(int(u), int(c)) for u, c in zip(bucket_upper(index), counts, strict=True)]

    # -- combining ---------------------------------------------------------------------------------------
    def merge(self, other: Histogram) -> None:
        """Add another histogram's counts (exact: same layout)."""
        other._fold()
        self._fold()
        if other._total == 0:
            return
        self._put(*other._nonzero(), other._min, other._max, other._sum, other._total)

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
        self._put(index.astype(np.int64), counts.astype(np.int64), low, high, total, n)

    def take(self) -> Taken | None:
        """Everything recorded so far as (index, counts, count, sum, min, max), and start over (the raw buffer stays
        the same object, so hot paths holding its bound `append` keep recording). None when nothing was recorded."""
        self._fold()
        if self._total == 0:
            return None
        index, counts = self._nonzero()
        taken = (index, counts, self._total, self._sum, self._min, self._max)
        if self._counts is not None:
            self._counts[index[index < len(self._counts)]] = 0
        self._tail_index = self._tail_counts = _EMPTY
        self._total = self._sum = self._min = self._max = 0
        if self._news is not None:
            self._news = []
        return taken

    def watch(self) -> None:
        """From now on keep what each addition brings, until `news()` collects it: for a reader that follows a
        histogram that keeps counting (once a second, say). What is kept is the bucket indexes of the values added
        in between, never a copy of the counts."""
        self._fold()
        if self._news is None:
            self._news = []

    def news(self) -> Taken | None:
        """What was added since `watch()` or the previous `news()`, in `take()`'s form (bucket indexes ascending,
        their counts, and the values' count, sum, min and max, exact); None when nothing was."""
        if self._news is None:
            raise ValueError("news() of a histogram that is not watched: call watch() first")
        self._fold()
        added, self._news = self._news, []
        if not added:
            return None
        ones = [np.ones(len(a[0]), dtype=np.int64) if a[1] is None else a[1] for a in added]
        index, counts = add_up(np.concatenate([a[0] for a in added]), np.concatenate(ones))
        low, high = min(a[2] for a in added), max(a[3] for a in added)
        total, count = sum(a[4] for a in added), sum(a[5] for a in added)
        return index, counts, count, total, low, high

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
        """A copy of the folded counts (HdrHistogram layout, all 23,552 buckets)."""
        self._fold()
        dense = np.zeros(COUNTS_LEN, dtype=np.int64)
        if self._counts is not None:
            dense[: len(self._counts)] = self._counts
        dense[self._tail_index] = self._tail_counts
        return dense

    @classmethod
    def from_counts(cls, counts: np.ndarray[Any, np.dtype[np.int64]]) -> Histogram:
        """A histogram from counts alone (min, max and mean are bucket-precise, not exact)."""
        hist = cls()
        index = np.flatnonzero(counts).astype(np.int64)
        if len(index):
            low, size = bucket_bounds(index)
            hist._add(index, counts[index].astype(np.int64))
            total = int(counts[index].sum())
            mid = low + size // 2
            hist._note(int(low[0]), int(low[-1] + size[-1] - 1), int((mid * counts[index]).sum()), total)
        return hist

    def to_dict(self) -> dict[str, Any]:
        """Sparse, JSON/msgpack-friendly form for shipping deltas between processes."""
        self._fold()
        if self._total == 0:
            return {"n": 0}
        index, counts = self._nonzero()
        return {
            "n": self._total,
            "sum": self._sum,
            "min": self._min,
            "max": self._max,
            "i": index.tolist(),
            "c": counts.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        hist = cls()
        if data.get("n", 0):
            hist._add(np.asarray(data["i"], dtype=np.int64), np.asarray(data["c"], dtype=np.int64))
            hist._note(int(data["min"]), int(data["max"]), int(data["sum"]), int(data["n"]))
        return hist

    def to_hdrh(self) -> Any:
        """An `hdrh.histogram.HdrHistogram` with identical counts (for the interoperable log format)."""
        from hdrh.histogram import HdrHistogram

        self._fold()
        hdr = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        index, counts = self._nonzero()
        for low, count in zip(bucket_bounds(index)[0], counts, strict=True):
            hdr.record_value(int(low), int(count))
        return hdr
