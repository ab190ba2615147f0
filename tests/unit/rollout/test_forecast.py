"""When a rollout sends analysis traffic (`plan.analysis_traffic_due`, pure), and which analysis windows its plan
has for the estimate of `rollout plan` (`forecast.plan_windows`, `describe_steps`, `render`)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from greenflag.analysis.compare import Sample
from greenflag.analysis.sizing import Facts
from greenflag.rollout.forecast import describe_steps, forecast, plan_windows, render
from greenflag.rollout.plan import analysis_traffic_due
from greenflag.rollout.synthetic import journal
from greenflag.spec import Spec
from tests.unit.rollout.analysis_specs import T0, walk

TRAFFIC = {"urls": ["/about"], "rate": 20}


def make(strategy: dict[str, Any], **analysis: Any) -> Spec:
    return Spec.model_validate({"service": "svc", "platform": {"command": "app --port {port}"},
                                "strategy": strategy, "analysis": analysis})  # fmt: skip


CANARY = {"canary": {"steps": [{"set_weight": 10}, {"analysis": {"duration": "20s"}}, {"set_weight": 100}]}}


def test_traffic_is_due_while_a_run_measures_and_not_otherwise() -> None:
    spec = make(CANARY, traffic=TRAFFIC)
    status = walk(spec)  # 10 % is set, then the analysis step begins in the same decision
    assert status.analysis_run == "step:1"
    run, started, ends = analysis_traffic_due(spec, status, T0 + 1) or ("", 0.0, 0.0)
    assert (run, started, ends) == ("step:1", T0, None)  # while analysing
    assert analysis_traffic_due(make(CANARY), status, T0 + 1) is None  # no analysis.traffic
    for change in ({"hold": "inconclusive"}, {"aborted": True}, {"analysis_run": None}):
        held = copy.deepcopy(status)
        for key, value in change.items():
            setattr(held, key, value)
        assert analysis_traffic_due(spec, held, T0 + 1) is None, change
    timed = make(CANARY, traffic={**TRAFFIC, "duration": "5s"})
    assert analysis_traffic_due(timed, status, T0 + 4.9) == ("step:1", T0, T0 + 5)
    assert analysis_traffic_due(timed, status, T0 + 5) is None  # its duration is over


def test_journal_adds_traffic_events() -> None:
    spec = make(CANARY, traffic=TRAFFIC)
    status = walk(spec)
    assert journal(status, [], T0) is status
    new = journal(status, ["analysis traffic: 20/s …"], T0 + 1)
    assert new is not status and new.events[-1].kind == "traffic" and status.events[-1].kind != "traffic"


@pytest.mark.parametrize(
    ("strategy", "windows"),
    [
        (CANARY, [("step 1: analysis 20s at 10 %", 0.1, 20.0)]),
        (
            {"canary": {"steps": [{"set_weight": 20}, {"pause": {"duration": "30s"}}, {"set_weight": 100}]}},
            [("step 0: background analysis 30s at 20 %", 0.2, 30.0)],
        ),
        (
            {"canary": {"preset": "Canary10Percent5Minutes"}},
            [("step 0: background analysis 300s at 10 %", 0.1, 300.0)],
        ),
        (
            {"blue_green": {"pre_promotion_analysis": {"duration": "15s"}, "post_promotion_analysis": {}}},
            [("step 0: analysis 15s at 0 %", 0.0, 15.0), ("step 2: analysis 10s at 100 %", 1.0, 10.0)],
        ),
        ({"blue_green": {}}, []),
    ],
)
def test_plan_windows(strategy: dict[str, Any], windows: list[tuple[str, float, float]]) -> None:
    assert [(w.name, w.canary_share, w.duration_s) for w in plan_windows(make(strategy))] == windows


def test_forecast_and_its_rendering() -> None:
    spec = make(CANARY, traffic=TRAFFIC, interval="500ms", detect={"error_rate": "5%"})
    report = forecast(spec, Facts(10.0, Sample(3000, 3, ((2.0, 3000),)), 300.0, "router, last 300s"))
    assert (
        report["steps"]
        == describe_steps(spec)
        == [
            "step 0: 10 % of users to the new version",
            "step 1: analysis 20s",
            "step 2: 100 % of users to the new version",
        ]
    )
    assert report["analysis_traffic"]["rate"] == 20 and report["faults"]["error_rate"] == pytest.approx(0.05)
    assert [d["fault"] for d in report["detection"]] == ["error rate +5 %", "latency +200 ms"]
    error = report["detection"][0]
    assert error["canary_rate"] == pytest.approx(21.0) and error["users_rate"] == pytest.approx(1.0)
    text = "\n".join(render(report))
    assert "analysis traffic: 20/s to each of the new version and the stable (/about), while analysing" in text
    assert "step 1: analysis 20s at 10 %: the canary gets 21 req/s (1 users')" in text
    assert "error rate +5 %" in text and "median" in text
    silent = "\n".join(render(forecast(make(CANARY), Facts(source="no traffic seen"))))
    assert "analysis traffic: none" in silent and "not caught within the window" in silent
