"""k6-syntax thresholds: parsing, and rejecting what is outside the grammar."""

from __future__ import annotations

import pytest

from greenflag.load.metrics.thresholds import (
    Threshold,
    ThresholdError,
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


def test_threshold_passes() -> None:
    threshold = Threshold("m", (), "avg<1", "avg", "<", 1.0)
    assert threshold.passes(0.5) and not threshold.passes(1.0)
