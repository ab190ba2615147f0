"""The rollout's analysis runs (pure): they follow the steps, and a step measures only the metrics it names."""

from __future__ import annotations

from greenflag.analysis.verdicts import Measurement, Verdict
from greenflag.rollout.model import Observations
from greenflag.rollout.runs import run_metrics, verdict_of
from greenflag.rollout.steps import decide
from greenflag.spec import Spec
from tests.unit.rollout.analysis_specs import STEPS, T0, UP, USER, make_spec, walk


def test_runs_follow_the_steps_and_background_resumes_with_its_window() -> None:
    spec = make_spec()
    status = walk(spec)
    assert (status.stage, status.analysis_run) == ("step:1", "background")
    assert status.analysis["background"]["started_at"] == T0
    status, _ = decide(spec, status, UP, T0 + 5)
    assert (status.stage, status.analysis_run) == ("step:2", "step:2")
    assert [m.name for m in run_metrics(spec, status)] == ["error_rate", "latency", "a"], "the step's filter"
    passed = tuple(Measurement(n, T0 + 9, 0.0, Verdict.SUCCESSFUL, f"{n} ok") for n in ("error_rate", "latency", "a"))
    status, _ = decide(spec, status, Observations(launched=UP.launched, measurements=passed, analysis_run="step:2"),
                       T0 + 10)  # fmt: skip
    assert (status.stage, status.analysis_run) == ("step:4", "background")
    assert status.analysis["background"]["started_at"] == T0, "background analysis keeps its canary window"
    assert set(status.analysis) == {"background", "step:2"}


def test_the_step_filter_ignores_other_metrics_and_defaults_false_drops_the_builtins() -> None:
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


def test_behind_a_router_that_does_not_time_requests_the_error_rate_decides_the_builtins() -> None:
    """HAProxy's stats have no latency histogram (`router.times_requests` is false): the built-in latency rule is
    not one of the run's metrics, so an analysis step passes on the error rate instead of waiting for a latency
    measurement that never comes."""
    haproxy = {"kind": "haproxy", "socket": "/run/h.sock", "backend": "app", "servers": {"blue": "a", "green": "b"}}
    spec = Spec.model_validate({"service": "svc", "router": haproxy, "platform": {"command": "app --port {port}"},
                                "strategy": {"canary": {"steps": STEPS}}, "analysis": {"metrics": USER}})  # fmt: skip
    status, _ = decide(spec, walk(spec), UP, T0 + 5)
    assert [m.name for m in run_metrics(spec, status)] == ["error_rate", "a"]
    passed = tuple(Measurement(n, T0 + 9, 0.0, Verdict.SUCCESSFUL, f"{n} ok") for n in ("error_rate", "a"))
    status, _ = decide(spec, status, Observations(launched=UP.launched, measurements=passed, analysis_run="step:2"),
                       T0 + 10)  # fmt: skip
    assert status.stage == "step:4" and not status.aborted and status.hold is None
