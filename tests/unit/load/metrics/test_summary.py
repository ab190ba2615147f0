"""The end-of-test summary: dropped and interrupted iterations are reported as prominently as a crossed
threshold (a ✗ line before the metrics, `warnings` and `latency_lower_bound` in the JSON)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from greenflag.load.metrics.series import Registry
from greenflag.load.metrics.summary import build_summary, render_text

STARTED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def summary_of(registry: Registry) -> dict[str, Any]:
    return build_summary(registry, started_at=STARTED, elapsed_s=2.0, outcomes=[])


def test_a_clean_run_has_no_warnings() -> None:
    summary = summary_of(Registry(start=0.0))
    assert summary["warnings"] == [] and summary["latency_lower_bound"] is False
    assert "WARNINGS" not in render_text(summary)
    assert summary["metrics"]["interrupted_iterations"] == {"count": 0}


def test_dropped_iterations_warn_that_latency_is_a_lower_bound() -> None:
    registry = Registry(start=0.0)
    registry.dropped_iterations = 7
    registry.vus_max = 5
    summary = summary_of(registry)
    assert summary["latency_lower_bound"] is True
    [warning] = summary["warnings"]
    assert warning["id"] == "dropped_iterations" and warning["count"] == 7
    assert warning["message"].startswith("7 iterations dropped: all 5 VUs were busy")
    assert "http_req_latency from the schedule is a lower bound" in warning["message"]
    text = render_text(summary)
    head, metrics = text.split("  METRICS")
    assert "  WARNINGS\n    ✗ dropped_iterations: 7 iterations dropped" in head
    assert "    ✗ dropped_iterations..........: 7" in metrics


def test_interrupted_iterations_are_a_warning_too() -> None:
    registry = Registry(start=0.0)
    registry.interrupted_iterations = 1
    summary = summary_of(registry)
    assert [w["id"] for w in summary["warnings"]] == ["interrupted_iterations"]
    assert summary["latency_lower_bound"] is False
    assert "1 iteration still running when the graceful stop ran out" in render_text(summary)
