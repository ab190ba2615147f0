"""Metric deltas: what workers ship and the coordinator merges. A registry split over several sources and merged
from their deltas gives the summary one registry of every sample gives — every percentile, mean, min, max, count,
check, error class and per-name figure — and thresholds read the merged data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from greenflag.load.metrics.delta import Delta, DiffTaker, Merger, take
from greenflag.load.metrics.intervals import merge_lines
from greenflag.load.metrics.series import Registry
from greenflag.load.metrics.snapshot import Snapshot
from greenflag.load.metrics.summary import build_summary
from greenflag.load.metrics.thresholds import evaluate, parse_cli_threshold
from greenflag.load.metrics.timeseries import TimeSeries

STAMP = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

# one sample: (source, name, status, seconds, blocked, check passed, step)
SAMPLE = st.tuples(
    st.integers(0, 2),
    st.sampled_from(["home", "api", "/items/{id}"]),
    st.sampled_from([200, 200, 200, 302, 404, 503, 0]),
    st.floats(1e-6, 30.0),
    st.sampled_from([0.0, 0.0, 0.002]),
    st.booleans(),
    st.sampled_from(["browse", "buy"]),
)


def record(registry: Registry, sample: tuple[Any, ...]) -> None:
    _, name, status, seconds, blocked, passed, step = sample
    error = "connect_refused" if status == 0 else None
    series = registry.series_for(name, "GET", status, (("step", step),))
    series.record_http(0.0, 0.001, 0.001 + seconds / 2, 0.001 + seconds, blocked, blocked / 2, 0.0, 50, 900, error)
    registry.add_check("ok", passed)
    registry.add_trend("step_duration", int(seconds * 1e6), (("step", step),))
    registry.add_counter("sse_events", 2.0)
    registry.iterations += 1
    registry.iteration_duration.record(int(seconds * 1e6) + 10)
    if not passed:
        registry.script_errors["KeyError"] = registry.script_errors.get("KeyError", 0) + 1


def summary(registry: Registry) -> dict[str, Any]:
    return build_summary(registry, started_at=STAMP, elapsed_s=10.0, outcomes=[])


@settings(max_examples=40, deadline=None)
@given(ticks=st.lists(st.lists(SAMPLE, max_size=40), min_size=1, max_size=5))
def test_merged_deltas_give_the_summary_of_one_process_over_the_same_samples(ticks: list[list[Any]]) -> None:
    one = Registry(start=0.0)
    sources = [Registry(start=0.0) for _ in range(3)]
    merged = Registry(start=0.0)
    merger = Merger(merged)
    for number, samples in enumerate(ticks):
        for sample in samples:
            record(one, sample)
            record(sources[sample[0]], sample)
        for index, source in enumerate(sources):  # each source ships what it recorded since its last delta
            merger.add(f"w{index}", take(source, float(number), float(number + 1)))
    assert summary(merged) == summary(one)
    for text in ("http_req_duration{step:buy}: p(95)<2000", "checks: rate>0.5", "http_reqs: count<30"):
        threshold = parse_cli_threshold(text)
        assert evaluate([threshold], Snapshot(merged, 10).value) == evaluate([threshold], Snapshot(one, 10).value)


def test_a_take_empties_the_registry_and_the_hot_paths_go_on_recording() -> None:
    registry = Registry(start=0.0)
    series = registry.series_for("home", "GET", 200)
    append = series.duration.raw.append  # what the hot path holds
    series.record_http(0, 0, 0.001, 0.002, 0, 0, 0, 10, 10, None)
    first = take(registry, 0.0, 1.0)
    assert first.requests == 1 and series.reqs == 0 and series.duration.count == 0
    append(5_000)
    series.reqs += 1
    series.latency.raw.append(5_000)
    second = take(registry, 1.0, 2.0)
    assert second.requests == 1
    assert second.series[0].hists["http_req_duration"].n == 1
    assert take(registry, 2.0, 3.0).series == []  # nothing new: nothing shipped


def test_a_threshold_crossed_only_on_the_merged_data() -> None:
    """Each of two workers sent 20 requests; `count<30` holds on each and is crossed on the 40 of the run."""
    threshold = parse_cli_threshold("http_reqs: count<30")
    workers = [Registry(start=0.0), Registry(start=0.0)]
    merged = Registry(start=0.0)
    merger = Merger(merged)
    for index, registry in enumerate(workers):
        for _ in range(20):
            registry.series_for("home", "GET", 200).record_http(0, 0, 0.001, 0.002, 0, 0, 0, 10, 10, None)
        assert evaluate([threshold], Snapshot(registry, 1).value)[0].ok
        merger.add(f"w{index}", take(registry, 0.0, 1.0))
    [outcome] = evaluate([threshold], Snapshot(merged, 1).value)
    assert not outcome.ok and outcome.value == 40


def test_scenario_tags_scope_every_metric() -> None:
    merged = Registry(start=0.0)
    merger = Merger(merged)
    for scenario, count, ms in (("checkout", 3, 900), ("browse", 5, 10)):
        registry = Registry(start=0.0)
        registry.note_vus(count)
        for _ in range(count):
            registry.series_for("page", "GET", 200).record_http(0, 0, ms / 2000, ms / 1000, 0, 0, 0, 10, 10, None)
            registry.iterations += 1
            registry.add_check("fine", True)
        merger.add(f"w1/{scenario}", take(registry, 0.0, 1.0), (("scenario", scenario),))
    snapshot = Snapshot(merged, 1.0)

    def value(text: str) -> float | None:
        return snapshot.value(parse_cli_threshold(text))

    assert value("http_reqs{scenario:checkout}: count>0") == 3
    assert value("iterations{scenario:browse}: count>0") == 5
    assert value("iterations: count>0") == 8
    assert value("vus{scenario:checkout}: value>0") == 3 and value("vus_max: value>0") == 8
    assert value("http_req_duration{scenario:checkout}: p(95)<1") == 900.0
    assert value("checks{scenario:browse}: rate>0") == 1.0
    assert value("iterations{scenario:nope}: count>0") is None
    merger.end("w1/checkout")
    assert merged.vus == 5 and merged.vus_max == 8


def test_time_series_from_several_sources_is_the_merge_of_their_own_series() -> None:
    """Two sources feeding one series give exactly the lines that merging each source's own series gives; an
    interval waits for every source still running, and not for one that ended."""
    rng = np.random.default_rng(3)
    registries = [Registry(start=0.0), Registry(start=0.0)]
    own = [TimeSeries(r, clock=lambda: 1000.3) for r in registries]
    shadow = [Registry(start=0.0), Registry(start=0.0)]  # the same samples, shipped as deltas
    merged_lines: list[dict[str, Any]] = []
    together = TimeSeries(Registry(start=0.0), on_line=merged_lines.append)
    together.follow_deltas(started=1000.3)
    for name in ("a", "b"):
        together.add_source(name)
    last = [1000.3, 1000.3]
    for second in range(1, 5):
        for index, (registry, copy) in enumerate(zip(registries, shadow, strict=True)):
            for _ in range(int(rng.integers(0, 30))):
                ms = float(rng.lognormal(3, 1))
                for r in (registry, copy):
                    r.series_for("x", "GET", 200).record_http(0, 0, ms / 2000, ms / 1000, 0, 0, 0, 1, 1, None)
                    r.iterations += 1
            now = 1000 + second + 0.001 * (index + 1)
            own[index].clock = lambda now=now: now  # type: ignore[misc]
            registry.fold()
            own[index].add()
            together.add_delta("ab"[index], take(copy, last[index], now))
            last[index] = now
        if second == 1:
            assert merged_lines == []  # the first second closes when both have moved past it
    for index, copy in enumerate(shadow):  # the end of the run: each source's last delta, then it ends
        together.add_delta("ab"[index], take(copy, last[index], 1004.3))
        together.end_source("ab"[index])
    together.flush()
    for series in own:
        series.clock = lambda: 1004.3  # type: ignore[assignment]
        series.flush()
    expected = merge_lines(own[0].lines(), own[1].lines())
    assert [line["t"] for line in merged_lines] == [line["t"] for line in expected]
    for got, want in zip(merged_lines, expected, strict=True):
        for key in ("http_reqs", "iterations", "http_req_duration", "by_name", "iteration_duration"):
            assert got[key] == want[key], key


def test_a_diff_of_a_registry_that_keeps_counting() -> None:
    registry = Registry(start=0.0)
    diff = DiffTaker(registry)
    series = registry.series_for("x", "GET", 503)
    for _ in range(3):
        series.record_http(0, 0, 0.001, 0.002, 0, 0, 0, 1, 1, None)
    registry.fold()
    first: Delta = diff.take(0.0, 1.0)
    assert first.totals()["http_reqs"] == 3 and first.error_classes() == {"http_5xx": 3}
    series.record_http(0, 0, 0.001, 0.002, 0, 0, 0, 1, 1, "reset")
    registry.fold()
    second = diff.take(1.0, 2.0)
    assert second.totals()["http_reqs"] == 1 and second.error_classes() == {"reset": 1, "http_5xx": 1}
    assert series.reqs == 4  # the registry keeps its totals


def test_a_diff_keeps_only_what_the_folds_added_since_the_last_take() -> None:
    """Between two takes (once a second in every run writing a time series) a DiffTaker holds what the folds added
    in between, and nothing once it took it: no copy of any histogram, however far its counts reach. Its parts carry
    the exact count, sum, min and max."""
    registry = Registry(start=0.0)
    series = registry.series_for("x", "GET", 200)
    for _ in range(50):
        series.record_http(0, 0, 0.0001, 0.0003, 0, 0, 0, 1, 1, None)
    registry.fold()
    diff = DiffTaker(registry)  # made after recording: the first take has everything since the start
    first = diff.take(0.0, 1.0)
    assert first.series[0].hists["http_req_duration"].n == 50 and first.series[0].reqs == 50
    assert diff._news == {} and diff._iteration == []
    series.record_http(0, 0, 0.0001, 2.5, 0, 0, 0, 1, 1, None)  # a 2.5 s outlier
    registry.fold()
    held = diff._news[(("x", "GET", 200, ()), "http_req_duration")]
    assert [int(news[0].nbytes + news[1].nbytes) for news in held] == [16]  # one bucket: its index and its count
    second = diff.take(1.0, 2.0).series[0].hists["http_req_duration"]
    assert (second.n, second.low, second.high, second.total) == (1, 2_500_000, 2_500_000, 2_500_000)
    assert diff._news == {}
    assert diff.take(2.0, 3.0).series == []  # nothing happened: nothing to tell
