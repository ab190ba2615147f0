"""HDR histograms: the same bucket index, bounds and percentiles as the hdrhistogram library; merges; deltas."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from greenflag.hdr import COUNTS_LEN, HIGHEST_US, Histogram, bucket_upper, counts_index, dense_length


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


def test_each_bucket_is_held_in_whichever_form_is_smaller() -> None:
    """Buckets in use are held sparse (16 bytes each: index and count) while that is smaller, and dense (8 bytes a
    bucket, 1,024 buckets, one doubling of the value, at a time) once that is: the figures docs/load-testing.md
    gives."""
    rare = Histogram()
    rare.record_many([120, 250, 900])
    rare.fold()
    assert rare.nbytes == 3 * 16 and rare.counts().shape == (COUNTS_LEN,)  # three buckets: 48 bytes
    busy = Histogram()
    busy.record_many(list(range(100, 1000)))  # 900 buckets of 1 µs: the first 1,024 dense
    busy.fold()
    assert busy.nbytes == 8 * 1024
    busy.record_many([300_000, 7_000_000])  # a 300 ms stall and a 7 s one: two sparse buckets, not 8 KiB a doubling
    busy.fold()
    assert busy.nbytes == 8 * 1024 + 2 * 16
    busy.record_many(list(range(1024, 1024 + 600)))  # 600 of the next doubling's 1,024 buckets: that one turns dense
    busy.fold()
    assert busy.nbytes == 16 * 1024 + 2 * 16
    every = Histogram()
    every.record_many(bucket_upper(np.arange(COUNTS_LEN, dtype=np.int64)).tolist())  # every bucket of the hour
    every.fold()
    assert every.nbytes == COUNTS_LEN * 8 == 184 * 1024  # the most a histogram holds, whatever the run records
    assert int(every.counts().sum()) == COUNTS_LEN


_BATCH = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=4_000),  # the body: dense soon
        st.integers(min_value=4_000, max_value=HIGHEST_US),  # outliers: sparse
    ),
    max_size=400,
)


@given(st.lists(_BATCH, min_size=1, max_size=6), st.lists(_BATCH, max_size=3))
@settings(max_examples=80, deadline=None)
def test_every_reading_is_that_of_one_dense_histogram_whatever_part_is_sparse(
    batches: list[list[int]], others: list[list[int]]
) -> None:
    """Recorded in batches (each fold may add sparse buckets or turn some dense), a histogram reads exactly as a
    plain count per bucket of every value: counts, buckets, percentiles, the dict and HDR-log forms, a merge, a
    take shipped and added back, and each batch's `news`. Its memory never exceeds 16 bytes a bucket in use,
    nor the 184 KiB of the whole range."""
    hist = Histogram()
    hist.watch()
    values: list[int] = []
    for batch in batches:
        hist.record_many(batch)
        values += batch
        news = hist.news()
        want = np.bincount(counts_index(np.array(batch, dtype=np.int64)), minlength=COUNTS_LEN)
        assert (news is None) == (not batch)
        if news is not None:
            assert news[2] == len(batch) and news[0].tolist() == np.flatnonzero(want).tolist()
            assert news[1].tolist() == want[news[0]].tolist()
    dense = np.bincount(counts_index(np.array(values, dtype=np.int64)), minlength=COUNTS_LEN)
    in_use = int(np.count_nonzero(dense))
    assert np.array_equal(hist.counts(), dense)
    assert hist.nbytes <= min(16 * in_use, 8 * COUNTS_LEN)
    assert [u for u, _ in hist.buckets()] == bucket_upper(np.flatnonzero(dense)).tolist()
    assert np.array_equal(Histogram.from_dict(hist.to_dict()).counts(), dense)
    if values:
        ref = reference(values)
        for p in (0.1, 50, 95, 99.9, 100):
            assert hist.percentile(p) == max(min(values), min(ref.get_value_at_percentile(p), max(values)))
        exported = hist.to_hdrh()
        assert exported.get_total_count() == len(values)
        assert exported.get_value_at_percentile(95) == ref.get_value_at_percentile(95)
    merged = Histogram()
    for batch in others:
        part = Histogram()
        part.record_many(batch)
        merged.merge(part)
        values += batch
    merged.merge(hist)
    everything = np.bincount(counts_index(np.array(values, dtype=np.int64)), minlength=COUNTS_LEN)
    assert np.array_equal(merged.counts(), everything)
    taken = hist.take()
    assert hist.count == 0 and hist.percentile(50) == 0.0 and hist.buckets() == []
    back = Histogram()
    if taken is not None:
        back.add_sparse(taken[0], taken[1], total=taken[3], low=taken[4], high=taken[5])
    assert np.array_equal(back.counts(), dense)


def test_the_dense_length_is_the_one_that_stores_the_buckets_in_use_in_the_fewest_bytes() -> None:
    assert dense_length(np.array([], dtype=np.int64), 0) == 0
    assert dense_length(np.arange(511, dtype=np.int64), 0) == 0  # 511 x 16 bytes < 8 KiB
    assert dense_length(np.arange(513, dtype=np.int64), 0) == 1024  # 513 x 16 bytes > 8 KiB
    assert dense_length(np.arange(512, dtype=np.int64), 0) == 0  # a tie: the shorter
    assert dense_length(np.array([1024 + 5, 20_000], dtype=np.int64), 1024) == 1024  # outliers stay sparse
    next_doubling = np.concatenate((np.arange(1024, 1024 + 600), [9_000])).astype(np.int64)
    assert dense_length(next_doubling, 1024) == 2048  # 600 of its 1,024 in use: dense; the outlier stays sparse
    gap = np.arange(2048, 2048 + 1000, dtype=np.int64)
    assert dense_length(gap, 1024) == 1024  # 1,024 empty buckets before them would cost more than they save
    assert dense_length(np.arange(COUNTS_LEN - 1024, COUNTS_LEN, dtype=np.int64), COUNTS_LEN - 1024) == COUNTS_LEN


def test_merge_take_and_add_sparse_agree_with_one_histogram_of_everything() -> None:
    small, large = Histogram(), Histogram()
    small.record_many([120, 250, 900])
    large.record_many([120, 5_000_000])
    both = Histogram()
    both.merge(small)
    both.merge(large)
    small.merge(large)
    assert np.array_equal(small.counts(), both.counts()) and small.percentile(100) == 5_000_000
    reference_ = Histogram()
    reference_.record_many([120, 250, 900, 120, 5_000_000])
    assert np.array_equal(both.counts(), reference_.counts()) and both.percentile(60) == reference_.percentile(60)
    taken = reference_.take()
    assert taken is not None and int(taken[1].sum()) == 5 and reference_.count == 0
    again = Histogram()
    again.add_sparse(taken[0], taken[1], total=taken[3], low=taken[4], high=taken[5])
    assert np.array_equal(again.counts(), both.counts()) and (again.min, again.max) == (both.min, both.max)


_ADDITION = st.one_of(
    st.tuples(st.just("record"), st.lists(st.integers(min_value=0, max_value=HIGHEST_US), max_size=50)),
    st.tuples(st.just("merge"), st.lists(st.integers(min_value=0, max_value=HIGHEST_US), max_size=20)),
    st.tuples(st.just("count"), st.lists(st.integers(min_value=0, max_value=HIGHEST_US), max_size=3)),
)


@given(st.lists(st.lists(_ADDITION, max_size=4), min_size=1, max_size=6))
@settings(max_examples=80, deadline=None)
def test_news_between_two_looks_is_exactly_what_was_added_in_between(looks: list[list[tuple[str, list[int]]]]) -> None:
    """A watched histogram that keeps counting, looked at after each round of additions (recorded values, merged
    histograms, repeated values): each look gives exactly what a histogram of that round alone holds (buckets,
    count, sum, min, max), and it keeps nothing of a round once looked at."""
    hist = Histogram()
    hist.record_many([7, 70_000])  # before watching: not news
    hist.watch()
    assert hist.news() is None
    for additions in looks:
        alone = Histogram()
        for kind, values in additions:
            if kind == "record":
                hist.record_many(values)
                alone.record_many(values)
            elif kind == "merge":
                other = Histogram()
                other.record_many(values)
                hist.merge(other)
                alone.merge(other)
            else:
                for value in values:
                    hist.record_count(value, 3)
                    alone.record_count(value, 3)
        news, want = hist.news(), alone.take()
        if want is None:
            assert news is None
            continue
        assert news is not None
        assert news[0].tolist() == want[0].tolist() and news[1].tolist() == want[1].tolist()
        assert news[2:] == want[2:]
        assert hist.news() is None  # collected: nothing is kept for the next look


def test_news_of_a_histogram_nobody_watches_is_an_error() -> None:
    with pytest.raises(ValueError, match="watch"):
        Histogram().news()
