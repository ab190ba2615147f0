"""The run's time series: per-interval deltas of the cumulative metrics, exact HDR buckets, mergeable lines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from greenflag.hdr import Histogram
from greenflag.load.metrics.intervals import Sparse, hist_percentiles, merge_lines, read_lines
from greenflag.load.metrics.series import Registry
from greenflag.load.metrics.timeseries import TimeSeries


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _request(registry: Registry, name: str, ms: float, status: int = 200) -> None:
    registry.series_for(name, "GET", status).record_http(0.0, 0.0, ms / 2000, ms / 1000, 0, 0, 0, 10, 100, None)


def _run(seconds: list[list[tuple[str, float, int]]], start: float = 1000.4) -> tuple[TimeSeries, Registry]:
    """Each inner list: the requests completing in one second; the runner folds at each whole second."""
    registry = Registry(start=0.0)
    clock = Clock(start)
    ts = TimeSeries(registry, clock=clock)
    for number, requests in enumerate(seconds):
        for name, ms, status in requests:
            _request(registry, name, ms, status)
        registry.note_vus(len(requests))
        clock.t = int(start) + number + 1.002
        registry.fold()
        ts.add()
    clock.t += 0.3
    ts.flush()
    return ts, registry


def test_each_second_holds_the_requests_that_completed_in_it() -> None:
    ts, registry = _run([[("home", 10, 200)] * 3, [("home", 20, 200), ("api", 5, 500)], []])
    lines = ts.lines()
    assert [line["t"] for line in lines] == [1000, 1001, 1002, 1003]
    assert [line["http_reqs"] for line in lines] == [3, 2, 0, 0]
    assert [line["http_req_failed"] for line in lines] == [0, 1, 0, 0]
    assert lines[1]["errors"] == {"http_5xx": 1}
    assert lines[1]["by_name"]["api"]["http_req_failed"] == 1
    assert lines[0]["vus"] == 3
    # the run began 0.4 s into the first second and ended 0.3 s into the last: those intervals say so
    assert lines[0]["covered_s"] == pytest.approx(0.6) and "covered_s" not in lines[1]
    assert lines[-1]["covered_s"] == pytest.approx(0.302)
    # the intervals' histograms add up to the run's histogram, bucket for bucket
    total = Sparse.add(Sparse.from_json(line["http_req_duration"]) for line in lines)
    whole = registry.http_trend("http_req_duration").counts()
    assert np.array_equal(np.flatnonzero(whole), total.index) and total.count.tolist() == whole[whole > 0].tolist()
    assert hist_percentiles(Sparse.from_json(lines[0]["http_req_duration"]), [50])[0] == pytest.approx(10, rel=1e-3)


def test_the_overall_histogram_is_the_sum_of_the_names() -> None:
    ts, _ = _run([[("a", 10, 200), ("b", 30, 200), ("b", 31, 200)]])
    line = ts.lines()[0]
    assert Sparse.from_json(line["http_req_duration"]).total == 3
    assert sum(Sparse.from_json(v["http_req_duration"]).total for v in line["by_name"].values()) == 3


def test_two_generators_lines_merge_exactly() -> None:
    """Two workers that each did half of the requests merge into the lines of one worker that did all."""
    one, _ = _run([[("home", 10, 200), ("home", 12, 500)], [("api", 3, 200)]])
    w1, _ = _run([[("home", 10, 200)], [("api", 3, 200)]])
    w2, _ = _run([[("home", 12, 500)], []])
    merged = merge_lines(w1.lines(), w2.lines())
    expected = one.lines()
    for line in (*merged, *expected):
        line.pop("vus"), line.pop("vus_max")
    assert merged == expected


def test_a_late_fold_counts_in_the_second_it_covers() -> None:
    """A fold delayed by a busy event loop still assigns its requests to the second they mostly completed in."""
    registry = Registry(start=0.0)
    clock = Clock(1000.0)
    ts = TimeSeries(registry, clock=clock)
    for when, requests in ((1001.002, 2), (1002.4, 3), (1003.001, 1)):
        for _ in range(requests):
            _request(registry, "x", 1)
        clock.t = when
        registry.fold()
        ts.add()
    ts.flush()
    assert [(line["t"], line["http_reqs"]) for line in ts.lines()] == [(1000, 2), (1001, 3), (1002, 1), (1003, 0)]


def test_longer_intervals_gather_several_folds() -> None:
    registry = Registry(start=0.0)
    clock = Clock(1000.5)
    ts = TimeSeries(registry, interval_s=5, clock=clock)
    for second in range(1, 12):
        _request(registry, "x", 1)
        clock.t = 1000 + second + 0.001
        registry.fold()
        ts.add()
    ts.flush()
    assert [(line["t"], line["http_reqs"], line["interval_s"]) for line in ts.lines()] == [
        (1000, 5, 5), (1005, 5, 5), (1010, 1, 5)
    ]  # fmt: skip


def test_lines_are_streamed_as_intervals_close_and_read_back() -> None:
    streamed: list[str] = []
    registry = Registry(start=0.0)
    clock = Clock(1000.2)
    ts = TimeSeries(registry, clock=clock, on_line=lambda line: streamed.append(json.dumps(line)))
    _request(registry, "x", 7)
    clock.t = 1001.001
    registry.fold()
    ts.add()
    assert streamed == []  # the second is still open until the next fold
    clock.t = 1002.001
    ts.add()
    assert len(streamed) == 1
    assert read_lines("\n".join(streamed) + "\n") == ts.lines()[:1]


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "s.jsonl:1: not JSON"), ('{"v": 9, "t": 1}', "not a greenflag time-series line"), ("[1]", "s.jsonl:1")],
)
def test_bad_lines_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_lines(text, "s.jsonl")


def test_bad_histograms_are_refused() -> None:
    with pytest.raises(ValueError, match="histogram"):
        Sparse.from_json({"i": [1, 99999], "c": [1, 1]})


def test_sub_second_or_fractional_intervals_are_refused() -> None:
    with pytest.raises(ValueError, match="whole number of seconds"):
        TimeSeries(Registry(start=0.0), interval_s=0)


def test_percentiles_match_the_hdr_histogram() -> None:
    rng = np.random.default_rng(7)
    values = rng.integers(100, 2_000_000, size=5000)
    hist = Histogram()
    hist.record_many(values.tolist())
    sparse = Sparse.of(hist.counts())
    for p, got in zip((50, 90, 99, 99.9), hist_percentiles(sparse, [50, 90, 99, 99.9]), strict=True):
        assert got == pytest.approx(hist.percentile(p) / 1000.0, abs=1e-3)


def test_thirty_minutes_of_one_name_stay_small() -> None:
    """The memory that docs/reports.md quotes: 1800 one-second intervals of one request name at ~1000 req/s with
    latencies spread over two decades keep their histograms in a few MB."""
    registry = Registry(start=0.0)
    clock = Clock(1000.0)
    ts = TimeSeries(registry, clock=clock)
    rng = np.random.default_rng(1)
    series = registry.series_for("home", "GET", 200)
    for second in range(1800):
        values = rng.lognormal(np.log(20_000), 0.6, size=1000).astype(np.int64)
        series.duration.raw.extend(values.tolist())
        series.latency.raw.extend((values + 50).tolist())
        series.reqs += 1000
        clock.t = 1000 + second + 1.001
        registry.fold()
        ts.add()
    ts.flush()
    per_name_mb = ts.nbytes / 1e6
    assert len(ts.intervals) == 1801
    assert per_name_mb < 12, per_name_mb
