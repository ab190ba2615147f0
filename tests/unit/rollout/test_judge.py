"""Undecided is not healthy (pure): an analysis that ends without enough evidence is Inconclusive and the rollout
follows analysis.on_inconclusive (pause by default); the event says how much evidence there was."""

from __future__ import annotations

from typing import Any

import pytest

from greenflag.analysis.verdicts import Verdict
from greenflag.rollout.model import Measurement, Observations, Phase, Status
from greenflag.rollout.steps import decide, new_status
from greenflag.spec import Spec

T0 = 1_000_000.0
UP = Observations(launched=frozenset({"v1", "v2"}))
STEP = {"canary": {"steps": [{"set_weight": 5}, {"analysis": {"duration": "30s"}}, {"set_weight": 100}]}}
NO_STEPS = {"canary": {"steps": [{"set_weight": 5}, {"pause": {"duration": "30s"}}, {"set_weight": 100}]}}


def make_spec(strategy: dict[str, Any] = STEP, **analysis: Any) -> Spec:
    return Spec.model_validate({"service": "svc", "platform": {"command": "app --port {port}"}, "strategy": strategy,
                                "analysis": {"window": "10s", **analysis}})  # fmt: skip


def at(spec: Spec, stage: str, run: str | None = None, **fields: Any) -> Status:
    status = new_status(spec, 1, "v2", "v1", T0)
    status.stage, status.stage_started_at = stage, T0
    if stage.startswith("step:"):
        status.step = int(stage[5:])
    if run is not None:
        status.analysis_run, status.analysis = run, {run: {"started_at": T0, "metrics": {}}}
    for key, value in fields.items():
        setattr(status, key, value)
    return status


def undecided_error_rate(at_s: float, requests: int = 41, needed: int = 62) -> Measurement:
    message = (f"error_rate: canary 0% (0/{requests}) vs stable 0% (0/900) + 1%: undecided, mSPRT log-LR -1.50; "
               f"≈{needed} more clean requests needed")  # fmt: skip
    evidence = {"requests": requests, "errors": 0, "more_needed": needed}
    return Measurement("error_rate", at_s, 0.0, Verdict.RUNNING, message, "relative SPRT", evidence)


def ok(metric: str, at_s: float) -> Measurement:
    return Measurement(metric, at_s, 0.0, Verdict.SUCCESSFUL, f"{metric}: not worse", "x", {"requests": 200})


def obs(run: str, *ms: Measurement, commands: tuple[str, ...] = ()) -> Observations:
    return Observations(launched=UP.launched, measurements=ms, analysis_run=run, commands=commands)


def test_an_analysis_step_that_ends_undecided_is_inconclusive_and_pauses_with_the_evidence() -> None:
    spec = make_spec()
    status = at(spec, "step:1", "step:1", analysis_started_at=T0, weights={"v1": 95, "v2": 5})
    status, _ = decide(spec, status, obs("step:1", undecided_error_rate(T0 + 29), ok("latency", T0 + 29)), T0 + 29)
    assert status.phase is Phase.PROGRESSING, "still within the step"
    status, actions = decide(spec, status, UP, T0 + 30)
    assert (status.phase, status.hold, status.stage, status.stable) == (Phase.PAUSED, "inconclusive", "step:1", "v1")
    event = next(e for e in status.events if e.kind == "inconclusive")
    assert "step 1: analysis after 30s Inconclusive: not enough evidence: error_rate: canary 0% (0/41)" in event.message
    assert "≈62 more clean requests needed" in event.message and "latency" not in event.message
    assert event.trigger == "error_rate"
    assert event.value == {"error_rate": {"requests": 41, "errors": 0, "more_needed": 62, "measurements": 1}}
    assert any(getattr(a, "event", None) == "rollout_paused" for a in actions)
    restarted = Status.from_json(status.to_json())  # a restarted controller holds too
    again, _ = decide(spec, restarted, UP, T0 + 31)
    assert (again.phase, again.hold) == (Phase.PAUSED, "inconclusive")


def test_a_canary_that_got_no_traffic_is_not_promoted() -> None:
    spec = make_spec()
    status = at(spec, "step:1", "step:1", analysis_started_at=T0, weights={"v1": 95, "v2": 5})
    status, _ = decide(spec, status, UP, T0 + 30)  # not one measurement
    event = next(e for e in status.events if e.kind == "inconclusive")
    assert "error_rate: no measurement; latency: no measurement" in event.message
    assert (status.phase, status.stable) == (Phase.PAUSED, "v1")


@pytest.mark.parametrize(("policy", "phase", "stage"), [("rollback", Phase.DEGRADED, "scale_down_canary"),
                                                         ("promote", Phase.HEALTHY, "done")])  # fmt: skip
def test_on_inconclusive_rollback_or_promote(policy: str, phase: Phase, stage: str) -> None:
    spec = make_spec(on_inconclusive=policy)
    status = at(spec, "step:1", "step:1", analysis_started_at=T0, weights={"v1": 95, "v2": 5})
    status, _ = decide(spec, status, obs("step:1", undecided_error_rate(T0 + 29)), T0 + 30)
    assert (status.phase, status.stage) == (phase, stage)
    kind = "rollback" if policy == "rollback" else "inconclusive"
    event = next(e for e in status.events if e.kind == kind)
    assert f"analysis.on_inconclusive: {policy}" in (event.limit or "") and event.trigger == "error_rate"


def test_promote_accepts_an_inconclusive_hold_and_resume_analyses_again() -> None:
    spec = make_spec()
    held = at(spec, "step:1", "step:1", analysis_started_at=T0, weights={"v1": 95, "v2": 5})
    held, _ = decide(spec, held, UP, T0 + 30)
    assert held.hold == "inconclusive"
    accepted, _ = decide(spec, held, obs("step:1", commands=("promote",)), T0 + 31)
    assert (accepted.phase, accepted.stable) == (Phase.HEALTHY, "v2")
    again, _ = decide(spec, held, obs("step:1", commands=("resume",)), T0 + 31)
    assert (again.phase, again.stage, again.analysis_started_at) == (Phase.PROGRESSING, "step:1", T0 + 31)
    passed, _ = decide(spec, again, obs("step:1", ok("error_rate", T0 + 60), ok("latency", T0 + 60)), T0 + 61)
    assert (passed.phase, passed.stable) == (Phase.HEALTHY, "v2")


def test_a_plan_without_analysis_steps_waits_for_the_background_analysis_before_promotion() -> None:
    spec = make_spec(NO_STEPS)
    status = at(spec, "step:1", "background", pause_started_at=T0, phase=Phase.PAUSED, weights={"v1": 95, "v2": 5})
    status, _ = decide(spec, status, obs("background", undecided_error_rate(T0 + 29)), T0 + 30)
    assert (status.stage, status.phase, status.analysis_run) == ("promote", Phase.PROGRESSING, "background")
    waiting, _ = decide(spec, status, UP, T0 + 35)
    assert waiting.stage == "promote" and waiting.stable == "v1", "waits up to analysis.window for a decision"
    held, _ = decide(spec, waiting, UP, T0 + 41)
    assert (held.phase, held.hold, held.stable) == (Phase.PAUSED, "inconclusive", "v1")
    assert "background analysis before promotion" in next(e for e in held.events if e.kind == "inconclusive").message
    decided, _ = decide(spec, status, obs("background", ok("error_rate", T0 + 36), ok("latency", T0 + 36)), T0 + 36)
    assert (decided.phase, decided.stable) == (Phase.HEALTHY, "v2")


def test_blue_green_post_promotion_analysis_follows_the_same_rule() -> None:
    spec = make_spec({"blue_green": {"post_promotion_analysis": {"duration": "10s"}}})
    status = at(spec, "step:1", "step:1", analysis_started_at=T0, weights={"v2": 100})
    status, _ = decide(spec, status, UP, T0 + 10)
    assert (status.phase, status.hold, status.stable) == (Phase.PAUSED, "inconclusive", "v1")


def test_nothing_to_judge_and_the_initial_deployment_are_not_held() -> None:
    spec = make_spec(NO_STEPS, defaults=False)
    status = at(spec, "promote", weights={"v1": 0, "v2": 100})
    status, _ = decide(spec, status, UP, T0)
    assert status.phase is Phase.HEALTHY
    first = new_status(make_spec(NO_STEPS), 1, "v1", None, T0)
    done, _ = decide(make_spec(NO_STEPS), first, Observations(launched=frozenset({"v1"}), ready={"v1": True}), T0)
    assert done.phase is Phase.HEALTHY
