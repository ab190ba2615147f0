"""HDR histograms: the same bucket index, bounds and percentiles as the hdrhistogram library; merges; deltas."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from greenflag.hdr import COUNTS_LEN, HIGHEST_US, Histogram, bucket_upper, counts_index


def reference(values: list[int]) -> HdrHistogram:
    ref = HdrHistogram(1, HIGHEST_US, 3)
    for value in values:
        ref.record_value(value)
    return ref


@given(st.lists(st.integers(min_value=0, max_value=HIGHEST_US), min_size=1, max_size=300))
@settings(max_examples=60, deadline=None)
def test_same_bucket_index_and_percentiles_as_the_hdrhistogram_library(values: list[int]) -> None:
    ref = reference(values)
    ours = Histogram()
    for value in values:
        ours.record(value)
    assert [int(i) for i in counts_index(np.array(values, dtype=np.int64))] == [
        ref._counts_index_for(v) for v in values
    ]
    for p in (1, 50, 90, 99, 99.9):
        expected = min(ref.get_value_at_percentile(p), max(values))
        assert ours.percentile(p) == max(min(values), expected)
    assert ours.count == len(values)
    assert ours.min == min(values) and ours.max == max(values)


def test_three_significant_digits_across_the_range() -> None:
    for value in (1, 999, 1_234, 56_789, 1_234_567, 3_599_999_999):
        hist = Histogram()
        hist.record(value)
        hist.record(value)
        assert abs(hist.percentile(50) - value) <= value / 1000 + 1


def test_merge_equals_recording_everything_in_one() -> None:
    rng = random.Random(7)
    values = [int(rng.lognormvariate(8, 2)) for _ in range(20_000)]
    one = Histogram()
    for v in values:
        one.record(v)
    parts = [Histogram() for _ in range(3)]
    for i, v in enumerate(values):
        parts[i % 3].record(v)
    merged = Histogram()
    for part in parts:
        merged.merge(part)
    assert merged.count == one.count
    assert merged.buckets() == one.buckets()
    assert [merged.percentile(p) for p in (50, 95, 99)] == [one.percentile(p) for p in (50, 95, 99)]
    assert merged.mean == pytest.approx(one.mean)


def test_dict_round_trip_ships_deltas_losslessly() -> None:
    hist = Histogram()
    for v in (5, 50, 500, 5_000, 50_000):
        hist.record(v)
    clone = Histogram.from_dict(hist.to_dict())
    assert clone.buckets() == hist.buckets()
    assert (clone.min, clone.max, clone.count, clone.mean) == (hist.min, hist.max, hist.count, hist.mean)
    assert Histogram.from_dict(Histogram().to_dict()).count == 0


def test_record_count_and_empty_histogram() -> None:
    hist = Histogram()
    assert hist.percentile(99) == 0.0 and hist.count == 0 and hist.mean == 0.0
    hist.record_count(0, 99)
    hist.record(1000)
    assert hist.count == 100
    assert hist.percentile(99) == 0.0
    assert hist.percentile(100) == 1000.0


def test_interoperable_with_the_library_log_format() -> None:
    hist = Histogram()
    for v in range(1, 5000, 7):
        hist.record(v)
    lib = hist.to_hdrh()
    assert lib.get_total_count() == hist.count
    assert lib.get_value_at_percentile(99) == hist.percentile(99)
    decoded = HdrHistogram.decode(lib.encode())
    assert decoded.get_total_count() == hist.count


def test_bucket_upper_bounds_are_hdr_highest_equivalent_values() -> None:
    values = np.array([0, 1, 2047, 2048, 2049, 3000, 123456, 10**9], dtype=np.int64)
    upper = bucket_upper(counts_index(values))
    assert all(u >= v for u, v in zip(upper.tolist(), values.tolist(), strict=True))
    assert all((u - v) <= max(1, v // 1000) for u, v in zip(upper.tolist(), values.tolist(), strict=True))


def test_the_counts_grow_with_the_highest_value_recorded() -> None:
    """A histogram of sub-millisecond values holds 32 KiB of counts (at least eight times its highest value), not all
    23,552 buckets (184 KiB); recording a larger value grows it, and every reading (dense counts, percentiles, merge,
    take) is unchanged by the size."""
    small, large = Histogram(), Histogram()
    small.record_many([120, 250, 900])
    small.fold()
    assert small.counts().shape == (COUNTS_LEN,)
    assert small._counts is not None and small._counts.nbytes <= 32 * 1024
    large.record_many([120, 5_000_000])
    large.fold()
    assert large._counts is not None and large._counts.nbytes > 64 * 1024
    before = large._counts.nbytes  # up to the end of the doubling that holds 8 x 5 s (2**25..2**26 µs)
    large.record_many([60_000_000])  # twelve times the highest value so far: held by the headroom, no growth
    large.fold()
    assert large._counts.nbytes == before
    large.record_many([70_000_000])  # past it: grows to hold three more doublings again
    large.fold()
    assert large._counts.nbytes == before + 4 * 8 * 1024
    large.reset()
    large.record_many([2_000_000])  # the figures docs/load-testing.md gives: 120 KiB once a value took 2 s ...
    large.fold()
    assert large._counts.nbytes == 120 * 1024
    large.record_many([3_599_999_999])  # ... and 184 KiB at most, whatever the run records
    large.fold()
    assert large._counts.nbytes == COUNTS_LEN * 8 == 184 * 1024
    large.reset()
    large.record_many([120, 5_000_000])
    both = Histogram()
    both.merge(small)
    both.merge(large)
    small.merge(large)  # the smaller one grows to take the larger one's buckets
    assert np.array_equal(small.counts(), both.counts()) and small.percentile(100) == 5_000_000
    reference = Histogram()
    reference.record_many([120, 250, 900, 120, 5_000_000])
    assert np.array_equal(both.counts(), reference.counts()) and both.percentile(60) == reference.percentile(60)
    taken = reference.take()
    assert taken is not None and int(taken[1].sum()) == 5 and reference.count == 0
    again = Histogram()
    again.add_sparse(taken[0], taken[1], total=taken[3], low=taken[4], high=taken[5])
    assert np.array_equal(again.counts(), both.counts()) and (again.min, again.max) == (both.min, both.max)


@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=HIGHEST_US), max_size=50),
        min_size=1,
        max_size=6,
    )
)
@settings(max_examples=60, deadline=None)
def test_changes_since_the_last_look_are_the_values_recorded_in_between(batches: list[list[int]]) -> None:
    """A histogram that keeps counting, looked at after each batch: each look gives exactly the buckets of that
    batch's values, and what the caller keeps is never longer than the histogram's own counts."""
    hist = Histogram()
    seen: np.ndarray[Any, Any] | None = None
    for batch in batches:
        hist.record_many(batch)
        index, gained, seen = hist.changes(seen)
        alone = Histogram()
        alone.record_many(batch)
        want = alone.counts()
        assert index.tolist() == np.flatnonzero(want).tolist()
        assert gained.tolist() == want[index].tolist()
        assert len(seen) == (0 if hist._counts is None else len(hist._counts))
    assert seen is not None and int(seen.sum()) == sum(len(batch) for batch in batches)
