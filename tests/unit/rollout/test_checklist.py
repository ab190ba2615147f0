"""The readiness checklist as a stage of the pure step machine (`readiness: {required_before: promote}`): where it
sits in the plan, what it asks the controller, and what each result means (spec + status + observations + now →
status, actions)."""

from __future__ import annotations

from typing import Any

from greenflag.readiness.base import CheckResult, Finding, Severity
from greenflag.readiness.base import Status as CheckStatus
from greenflag.rollout.actions import RunChecklist, SetHeaderRoute, SetWeights, StopChecklist
from greenflag.rollout.checklist import AGAIN, summarize
from greenflag.rollout.model import ChecklistRun, CheckOutcome, HookOutcome, HookState, Observations, Phase, Status
from greenflag.rollout.plan import analysis_run_key
from greenflag.rollout.steps import decide, new_status, plan
from greenflag.spec import Spec

T0 = 1_000_000.0
CANARY = {"canary": {"steps": [{"set_weight": 20}, {"pause": {"duration": "5s"}}, {"set_weight": 100}],
                     "abort_scale_down_delay": "5s"}}  # fmt: skip
READINESS = {"required_before": "promote", "checks": [{"name": "migrations", "exec": ["true"]}]}


def make_spec(strategy: dict[str, Any] | None = None, readiness: dict[str, Any] | None = None) -> Spec:
    return Spec.model_validate(
        {
            "service": "svc",
            "strategy": strategy or CANARY,
            "platform": {"command": "./app --port {port}", "stop_grace": "1s"},
            "analysis": {"defaults": False},
            "readiness": READINESS if readiness is None else readiness,
        }
    )


def at(spec: Spec, stage: str, *, stable: str | None = "v1", **fields: Any) -> Status:
    status = new_status(spec, 1, "v2", stable, T0)
    status.stage, status.stage_started_at = stage, T0
    if stage.startswith("step:"):
        status.step = int(stage[5:])
    for key, value in fields.items():
        setattr(status, key, value)
    return status


def obs(run: ChecklistRun | None = None, commands: tuple[str, ...] = ()) -> Observations:
    return Observations(launched=frozenset({"v1", "v2"}), checklist=run, commands=commands)


def result(name: str, target: str, status: CheckStatus, *ids: str, required: bool = True) -> CheckResult:
    findings = tuple(Finding(i, Severity.HIGH, f"{i} happened") for i in ids)
    return CheckResult(name, target, status, findings, required=required)


PASSED = summarize([result("health", "http://127.0.0.1:8000/healthz", CheckStatus.PASS)], True)
STARTED = ChecklistRun(HookState(HookOutcome.STARTED))


def test_the_stage_sits_before_the_version_gets_all_of_the_traffic() -> None:
    spec = make_spec()
    assert plan(spec, at(spec, "launch"))[6:11] == ["before_allow_traffic", "step:0", "step:1", "readiness", "step:2"]
    # no 100 % step: after the last step (promote then gives 100 %)
    partial = make_spec({"canary": {"steps": [{"set_weight": 20}, {"set_weight": 50}]}})
    assert plan(partial, at(partial, "launch"))[7:11] == ["step:0", "step:1", "readiness", "after_allow_traffic"]
    # blue-green: before the switch, after the pre-promotion analysis and the pause for a human
    bg = make_spec({"blue_green": {"pre_promotion_analysis": {"duration": "5s"}, "auto_promote": False,
                                   "post_promotion_analysis": {"duration": "5s"}}})  # fmt: skip
    assert plan(bg, at(bg, "launch"))[7:12] == ["step:0", "step:1", "readiness", "step:2", "step:3"]
    # not configured, the initial deployment, rolling back: no stage
    bare = make_spec(readiness={"checks": [{"name": "x", "exec": ["true"]}]})
    assert "readiness" not in plan(bare, at(bare, "launch"))
    assert "readiness" not in plan(spec, at(spec, "launch", stable=None, initial=True))
    assert plan(spec, at(spec, "launch", aborted=True)) == ["on_rollback", "scale_down_canary", "done"]


def test_it_runs_once_then_the_rollout_moves_on_to_100_percent() -> None:
    spec = make_spec()
    s, actions = decide(spec, at(spec, "readiness", step=1, weights={"v1": 80, "v2": 20}), obs(), T0)
    assert actions == [RunChecklist()] and s.stage == "readiness"
    s, actions = decide(spec, s, obs(STARTED), T0 + 1)
    assert actions == [RunChecklist()] and s.data_steps["readiness"].outcome is HookOutcome.STARTED  # idempotent
    assert s.weights == {"v1": 80, "v2": 20}  # the canary keeps its weight while the checks run
    s, actions = decide(spec, s, obs(PASSED), T0 + 2)
    assert s.promoted and s.stable == "v2" and s.weights == {"v2": 100}
    assert SetWeights((("v1", 0), ("v2", 100))) in actions and RunChecklist() not in actions
    messages = [(e.kind, e.message) for e in s.events if e.kind.startswith("readiness")]
    assert messages == [
        ("readiness", "readiness checklist started"),
        ("readiness", "readiness checklist passed: 1 of 1 checks passed"),
    ]
    # final: a later observation never changes it, and nothing runs again
    s2, actions = decide(spec, at(spec, "readiness", data_steps=dict(s.data_steps)), obs(STARTED), T0 + 3)
    assert s2.data_steps["readiness"] == s.data_steps["readiness"] and RunChecklist() not in actions


def test_a_failed_required_check_rolls_back_in_the_same_tick_naming_each_check_and_its_findings() -> None:
    spec = make_spec()
    run = summarize(
        [
            result("health", "http://127.0.0.1:8000/healthz", CheckStatus.PASS),
            result("check", "migrations", CheckStatus.FAIL, "check.failed"),
            result("tls", "127.0.0.1:8443", CheckStatus.ERROR, "tls.unreachable", "tls.timeout"),
            result("headers", "http://127.0.0.1:8000/", CheckStatus.FAIL, "headers.csp", required=False),
        ],
        False,
    )
    s = at(spec, "readiness", step=1, weights={"v1": 80, "v2": 20}, data_steps={"readiness": STARTED.state})
    s, actions = decide(spec, s, obs(run), T0 + 1)
    assert s.aborted and s.phase is Phase.DEGRADED and s.weights == {"v1": 100}
    assert SetWeights((("v1", 100),)) in actions and SetHeaderRoute(None) in actions  # stable has it all, now
    rollback = next(e for e in s.events if e.kind == "rollback")
    failed = "check migrations (fail: check.failed); tls 127.0.0.1:8443 (error: tls.unreachable, tls.timeout)"
    assert rollback.message == f"rolling back v2: the readiness checklist failed before promotion: {failed}"
    assert rollback.trigger == "readiness checklist" and rollback.limit.startswith("every required check passes")
    assert rollback.value == [
        {"check": "check", "target": "migrations", "status": "fail", "required": True, "findings": ["check.failed"]},
        {"check": "tls", "target": "127.0.0.1:8443", "status": "error", "required": True,
         "findings": ["tls.unreachable", "tls.timeout"]},
    ]  # fmt: skip
    result_event = next(e for e in s.events if e.kind == "readiness")
    assert result_event.message == (
        f"readiness checklist failed: 1 of 4 checks passed; required, not passed: {failed}; "
        "optional, not passed: headers http://127.0.0.1:8000/ (fail: headers.csp)"
    )


def test_a_failed_optional_check_is_a_warning_and_the_rollout_goes_on() -> None:
    spec = make_spec()
    run = summarize(
        [
            result("check", "migrations", CheckStatus.PASS),
            result("check", "docs-published", CheckStatus.FAIL, "check.failed", required=False),
        ],
        True,
    )
    s, _ = decide(spec, at(spec, "readiness", step=1, data_steps={"readiness": STARTED.state}), obs(run), T0)
    assert s.promoted and s.stable == "v2"
    warning = next(e for e in s.events if e.kind == "readiness_warning")
    assert warning.message == (
        "readiness checklist: 1 optional check did not pass (required: false): "
        "check docs-published (fail: check.failed)"
    )


def test_a_checklist_that_could_not_run_rolls_back_with_its_reason() -> None:
    spec = make_spec()
    run = ChecklistRun(HookState(HookOutcome.FAILED, "the checklist did not finish within 131s"))
    s, _ = decide(spec, at(spec, "readiness", step=1, data_steps={"readiness": STARTED.state}), obs(run), T0)
    rollback = next(e for e in s.events if e.kind == "rollback")
    assert s.aborted and rollback.value == "the checklist did not finish within 131s"
    assert "failed before promotion: the checklist did not finish" in rollback.message


def test_a_restarted_controller_running_it_again_says_so_once() -> None:
    spec = make_spec()
    s = at(spec, "readiness", step=1, data_steps={"readiness": STARTED.state})
    again = ChecklistRun(HookState(HookOutcome.STARTED), again=True)
    s, actions = decide(spec, s, obs(again), T0)
    s, _ = decide(spec, s, obs(again), T0 + 1)
    assert actions == [RunChecklist()] and s.data_steps["readiness"] == HookState(HookOutcome.STARTED, AGAIN)
    assert [e.message for e in s.events if e.kind == "readiness"] == [f"readiness checklist started {AGAIN}"]


def test_promote_does_not_skip_it_and_promote_full_goes_there_first() -> None:
    spec = make_spec()
    s, actions = decide(spec, at(spec, "readiness", step=1), obs(commands=("promote",)), T0)
    assert s.stage == "readiness" and actions == [RunChecklist()]
    # promote --full at the pause: the remaining steps are skipped, the checklist is not
    s = at(spec, "step:1", weights={"v1": 80, "v2": 20}, pause_started_at=T0, phase=Phase.PAUSED)
    s, actions = decide(spec, s, obs(commands=("promote_full",)), T0 + 1)
    assert (s.stage, s.phase, s.weights) == ("readiness", Phase.PROGRESSING, {"v1": 80, "v2": 20})
    assert actions == [RunChecklist()]
    s, actions = decide(spec, s, obs(PASSED), T0 + 2)
    assert s.promoted and SetWeights((("v1", 0), ("v2", 100))) in actions
    assert any(e.kind == "promote_full" for e in s.events)


def test_rolling_back_while_it_runs_stops_it_and_background_analysis_goes_on_meanwhile() -> None:
    spec = make_spec()
    s = at(spec, "readiness", step=1, weights={"v1": 80, "v2": 20}, data_steps={"readiness": STARTED.state})
    s, actions = decide(spec, s, obs(STARTED, commands=("abort",)), T0)
    assert s.aborted and StopChecklist("the rollout of v2 is rolling back: aborted by request") in actions
    # a canary with background analysis keeps being analysed while its checklist runs
    with_analysis = Spec.model_validate({**make_spec().model_dump(exclude={"source"}), "analysis": {}})
    assert analysis_run_key(with_analysis, at(with_analysis, "readiness", weights={"v1": 80, "v2": 20})) == "background"


def test_summarize_counts_errors_as_failures_and_keeps_the_finding_ids() -> None:
    run = summarize(
        [
            result("waf", "http://127.0.0.1:8000/", CheckStatus.WARN, "waf.unresolved"),
            result("dns", "shop.test", CheckStatus.SKIP),
            result("backups", "/srv/backups", CheckStatus.ERROR, "backups.none"),
        ],
        False,
    )
    assert run.state.outcome is HookOutcome.FAILED
    assert run.checks[0] == CheckOutcome("waf", "http://127.0.0.1:8000/", "warn", True, ("waf.unresolved",))
    assert run.state.detail == "2 of 3 checks passed; required, not passed: backups /srv/backups (error: backups.none)"
    assert [CheckOutcome.from_json(c.to_json()) for c in run.checks] == list(run.checks)
