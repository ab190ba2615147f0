"""The rollout's analysis runs (pure): they follow the steps, and a step measures only the metrics it names."""

from __future__ import annotations

from typing import Any

from greenflag.analysis.verdicts import Verdict
from greenflag.rollout.model import Observations, Status
from greenflag.rollout.runs import run_metrics, verdict_of
from greenflag.rollout.steps import decide, new_status
from greenflag.spec import Spec

T0 = 1_000_000.0
USER = [
    {"name": "a", "query": "error_rate", "failure_condition": "result > 0.5"},
    {"name": "b", "query": "p95_ms", "failure_condition": "result > 100"},
]
STEPS = [{"set_weight": 10}, {"pause": {"duration": "5s"}}, {"analysis": {"duration": "5s", "metrics": ["a"]}},
         {"set_weight": 50}, {"pause": {"duration": "5s"}}]  # fmt: skip


def make_spec(steps: list[Any] = STEPS, **analysis: Any) -> Spec:
    data = {"service": "svc", "strategy": {"canary": {"steps": steps}}, "analysis": {"metrics": USER, **analysis}}
    return Spec.model_validate(data)


UP = Observations(launched=frozenset({"v1", "v2"}))


def walk(spec: Spec) -> Status:
    """A rollout of v2 (stable v1) driven to step 0, where the canary first gets traffic."""
    status = new_status(spec, 1, "v2", "v1", T0)
    status.stage, status.stage_started_at = "step:0", T0
    new, _ = decide(spec, status, UP, T0)
    return new


def test_runs_follow_the_steps_and_background_resumes_with_its_window() -> None:
    spec = make_spec()
    status = walk(spec)
    assert (status.stage, status.analysis_run) == ("step:1", "background")
    assert status.analysis["background"]["started_at"] == T0
    status, _ = decide(spec, status, UP, T0 + 5)
    assert (status.stage, status.analysis_run) == ("step:2", "step:2")
    assert [m.name for m in run_metrics(spec, status)] == ["error_rate", "latency", "a"], "the step's filter"
    status, _ = decide(spec, status, UP, T0 + 10)
    assert (status.stage, status.analysis_run) == ("step:4", "background")
    assert status.analysis["background"]["started_at"] == T0, "background analysis keeps its canary window"
    assert set(status.analysis) == {"background", "step:2"}


def test_the_step_filter_ignores_other_metrics_and_defaults_false_drops_the_builtins() -> None:
    from greenflag.analysis.verdicts import Measurement

    spec = make_spec(defaults=False)
    status, _ = decide(spec, walk(spec), UP, T0 + 5)
    assert [m.name for m in run_metrics(spec, status)] == ["a"]
    bad_b = Measurement("b", T0 + 6, 500.0, Verdict.FAILED, "b = 500 meets failure condition result > 100", "x")
    status, _ = decide(spec, status, Observations(launched=UP.launched, measurements=(bad_b,), analysis_run="step:2"),
                       T0 + 6)  # fmt: skip
    assert not status.aborted and verdict_of(spec, status).verdict is Verdict.RUNNING
    bad_a = Measurement("a", T0 + 7, 0.9, Verdict.FAILED, "a = 0.9 meets failure condition result > 0.5", "a > 0.5")
    obs = Observations(launched=UP.launched, measurements=(bad_a,), analysis_run="step:2")
    status, _ = decide(spec, status, obs, T0 + 7)
    rollback = next(e for e in status.events if e.kind == "rollback")
    assert (rollback.trigger, rollback.value, rollback.limit) == ("a", 0.9, "a > 0.5")
