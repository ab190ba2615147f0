from __future__ import annotations

import pytest

from greenflag.load.metrics.series import Registry
from greenflag.load.metrics.snapshot import Snapshot, validate_thresholds
from greenflag.load.metrics.thresholds import (
    Threshold,
    ThresholdError,
    evaluate,
    parse_cli_threshold,
    parse_metric,
    parse_thresholds,
)


@pytest.mark.parametrize(
    ("text", "metric", "agg", "op", "limit"),
    [
        ("http_req_duration: p(95)<2000", "http_req_duration", "p(95)", "<", 2000),
        ("http_req_duration:p(99.9) <= 1500", "http_req_duration", "p(99.9)", "<=", 1500),
        ("http_req_failed: rate<0.01", "http_req_failed", "rate", "<", 0.01),
        ("http_reqs: count>=100", "http_reqs", "count", ">=", 100),
        ("iteration_duration: avg != 3", "iteration_duration", "avg", "!=", 3),
        ("vus_max: value==10", "vus_max", "value", "==", 10),
        ("http_req_waiting: med>1e-3", "http_req_waiting", "med", ">", 0.001),
    ],
)
def test_parse_cli_threshold(text: str, metric: str, agg: str, op: str, limit: float) -> None:
    threshold = parse_cli_threshold(text)
    assert (threshold.metric, threshold.aggregation, threshold.op, threshold.limit) == (metric, agg, op, limit)


def test_tag_filters_and_object_form() -> None:
    [threshold] = parse_thresholds(
        {
            "http_req_duration{name:home, method:GET}": [
                {"threshold": "p(95)<300", "abortOnFail": True, "delayAbortEval": "10s"}
            ]
        }
    )
    assert threshold.tags == (("method", "GET"), ("name", "home"))
    assert threshold.key == "http_req_duration{method:GET,name:home}"
    assert threshold.abort_on_fail and threshold.delay_abort_eval == 10.0
    assert parse_metric("checks{check:stored}") == ("checks", (("check", "stored"),))


@pytest.mark.parametrize(
    "text",
    [
        "http_req_duration p(95)<2",
        "http_req_duration: p95<2",
        "http_req_duration: p(95)",
        "x{a}: avg<1",
        "http_req_duration: p(101)<2",
        "http_req_duration: avg<<2",
        ": avg<1",
    ],
)
def test_rejects_anything_outside_the_grammar(text: str) -> None:
    with pytest.raises(ThresholdError):
        parse_cli_threshold(text)


def test_object_form_rejects_unknown_keys() -> None:
    with pytest.raises(ThresholdError, match="unknown: abort"):
        parse_thresholds({"http_reqs": [{"threshold": "count>1", "abort": True}]})


def _registry() -> Registry:
    registry = Registry(start=0.0)
    ok = registry.series_for("home", "GET", 200)
    bad = registry.series_for("api", "GET", 500)
    for i in range(99):
        ok.record_http(0.0, 0.0, 0.001, 0.001 * (i + 1), 0, 0, 0, 10, 20, None)
    bad.record_http(0.0, 0.0, 0.5, 2.0, 0, 0, 0, 10, 20, None)
    return registry


def test_evaluation_on_a_snapshot_with_tag_filters() -> None:
    snapshot = Snapshot(_registry(), elapsed_s=10.0)
    thresholds = parse_thresholds(
        {
            "http_req_duration": ["p(50)<60", "max<1000"],
            "http_req_duration{name:home}": "max<=100",
            "http_req_duration{status:500}": "min>=2000",
            "http_req_failed": "rate<0.02",
            "http_req_failed{name:api}": "rate==1",
            "http_reqs": ["count==100", "rate==10"],
            "checks": "rate>0.5",
        }
    )
    results = {(o.threshold.key, o.threshold.source): (o.ok, o.value) for o in evaluate(thresholds, snapshot.value)}
    assert results[("http_req_duration", "p(50)<60")][0] is True
    assert results[("http_req_duration", "max<1000")] == (False, 2000.0)
    assert results[("http_req_duration{name:home}", "max<=100")][0] is True
    assert results[("http_req_duration{status:500}", "min>=2000")] == (True, 2000.0)
    assert results[("http_req_failed", "rate<0.02")] == (True, 0.01)
    assert results[("http_req_failed{name:api}", "rate==1")] == (True, 1.0)
    assert results[("http_reqs", "count==100")] == (True, 100.0)
    assert results[("http_reqs", "rate==10")] == (True, 10.0)
    assert results[("checks", "rate>0.5")] == (True, None)  # no data passes, as in k6


def test_validation_before_the_run() -> None:
    thresholds = [parse_cli_threshold(t) for t in ("nope: avg<1", "http_reqs: avg<1", "http_req_failed: p(9)<1")]
    problems = validate_thresholds(thresholds, allow_custom=False)
    assert problems[0].startswith("nope: no such metric")
    assert "avg does not apply to a counter" in problems[1]
    assert "p(N) applies to trends" in problems[2]
    assert validate_thresholds(thresholds[:1], allow_custom=True) == []


def test_threshold_passes() -> None:
    threshold = Threshold("m", (), "avg<1", "avg", "<", 1.0)
    assert threshold.passes(0.5) and not threshold.passes(1.0)


def test_latency_is_never_shorter_than_duration() -> None:
    """A request sent a little before its scheduled instant is measured from its send."""
    registry = Registry(start=0.0)
    series = registry.series_for("early", "GET", 200)
    series.record_http(10.0005, 10.0, 10.1, 10.2, 0, 0, 0, 10, 20, None)
    duration = registry.http_trend("http_req_duration").max
    assert registry.http_trend("http_req_latency").max == duration
    assert 199_990 <= duration <= 200_000
