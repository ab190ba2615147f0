"""Thresholds evaluated on a snapshot of a run's metrics, and validated before the run."""

from __future__ import annotations

from greenflag.load.metrics.series import Registry
from greenflag.load.metrics.snapshot import Snapshot, validate_thresholds
from greenflag.load.metrics.thresholds import (
    evaluate,
    parse_cli_threshold,
    parse_thresholds,
)


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
