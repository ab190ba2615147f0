"""The readiness checklist as a stage of the step machine (pure): `readiness: {required_before: promote}`.

Where it sits in the plan (`plan.readiness_at`): just before the version would get all of the traffic — before
blue-green's switch to 100 % (after `pre_promotion_analysis` and the `auto_promote: false` pause), before a
canary's first 100 % step — or, when no step sets 100 %, after the last step. Not at the initial deployment.

    … → step:k-1 → readiness → step:k (100 %) → … → after_allow_traffic → promote → …

- The stage asks the controller to run `greenflag check all`'s checklist once (`RunChecklist`); the controller
  journals it `started` before it runs and `ok` / `failed` with every check's outcome when it ends
  (rollout/checkrunner.py). A restarted controller does not run a finished checklist again; one it finds
  started, never finished (the controller stopped meanwhile), it runs again — the checks only read.
- A required check that fails or errors rolls back, like a failed analysis: traffic back to stable in the same
  tick, the `rollback` event naming each failed required check and its findings' ids (`trigger: readiness checklist`,
  `value`: the failed checks). Why rollback and not pause: a failed readiness check is a verdict, like a Failed
  analysis or a failed CodeDeploy lifecycle hook, and Argo Rollouts aborts a blue-green rollout whose
  pre-promotion analysis fails; a release waiting for a human is what `pause` steps are for.
- A failed optional check (`required: false`) is a `readiness_warning` event; the rollout goes on.
- `rollout promote` does not skip the stage; `promote --full` skips the remaining steps but not the checklist.
  Rolling back while it runs stops it (`StopChecklist`).

Its state is journaled in `Status.data_steps["readiness"]`, and once final it never changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from greenflag.readiness.base import CheckResult
from greenflag.rollout.actions import RunChecklist, StopChecklist
from greenflag.rollout.context import Ctx, fail
from greenflag.rollout.model import ChecklistRun, CheckOutcome, HookOutcome, HookState, Phase
from greenflag.rollout.phases import PhaseEvent, transition
from greenflag.rollout.plan import plan

__all__ = [
    "CHECKLIST_STAGES",
    "KEY",
    "describe",
    "jump_to_checklist",
    "observe_checklist",
    "stop_checklist",
    "summarize",
]
__pure__ = True

KEY = "readiness"  # the stage, and its key in Status.data_steps
TRIGGER = "readiness checklist"  # (`readiness` alone is the readiness gate of health probes)
LIMIT = "every required check passes (readiness.required_before: promote)"
AGAIN = "again: the controller that started it stopped before it finished"


def _one(check: CheckOutcome) -> str:
    return f"{check.check} {check.target} ({check.status}: {', '.join(check.findings) or 'no findings'})"


def describe(checks: Sequence[CheckOutcome]) -> str:
    """`check migrations (fail: check.failed); tls 127.0.0.1:443 (fail: tls.grade.below_minimum, …)`."""
    return "; ".join(_one(check) for check in checks)


def summarize(results: Sequence[CheckResult], ok: bool) -> ChecklistRun:
    """The finished checklist (`ok`: readiness.checklist.checklist_ok of the results), with the one-line detail
    journaled beside it."""
    checks = tuple(
        CheckOutcome(r.name, r.target, str(r.status), r.required, tuple(f.id for f in r.findings)) for r in results
    )
    run = ChecklistRun(HookState(HookOutcome.OK if ok else HookOutcome.FAILED), checks)
    failing = _failed(run, required=True)
    passed = sum(1 for check in checks if check.ok)
    detail = f"{passed} of {len(checks)} checks passed"
    if failing:
        detail += f"; required, not passed: {describe(failing)}"
    optional = _failed(run, required=False)
    if optional:
        detail += f"; optional, not passed: {describe(optional)}"
    return ChecklistRun(HookState(run.state.outcome, detail), checks)


def _failed(run: ChecklistRun, *, required: bool) -> list[CheckOutcome]:
    return [check for check in run.checks if not check.ok and check.required is required]


def observe_checklist(ctx: Ctx) -> None:
    """Journal what the controller reports of the checklist, with its events; a final state is kept as it is."""
    s, run = ctx.s, ctx.obs.checklist
    if run is None:
        return
    known = s.data_steps.get(KEY)
    again = run.again and run.state.outcome is HookOutcome.STARTED
    state = HookState(HookOutcome.STARTED, AGAIN) if again else run.state
    if known == state or (known is not None and known.outcome is not HookOutcome.STARTED):
        return
    s.data_steps[KEY] = state
    outcome = state.outcome
    if outcome is HookOutcome.STARTED:
        ctx.event("readiness", "readiness checklist started" + (f" {AGAIN}" if again else ""))
    elif outcome is HookOutcome.OK:
        ctx.event("readiness", f"readiness checklist passed: {state.detail}")
        optional = _failed(run, required=False)
        if optional:
            what = f"{len(optional)} optional check{'s' if len(optional) != 1 else ''} did not pass"
            ctx.event("readiness_warning", f"readiness checklist: {what} (required: false): {describe(optional)}")
    else:
        ctx.event("readiness", f"readiness checklist {outcome}: {state.detail}")


def _stage_readiness(ctx: Ctx) -> bool:
    s = ctx.s
    state = s.data_steps.get(KEY)
    if state is None or state.outcome is HookOutcome.STARTED:
        ctx.actions.append(RunChecklist())  # asked each tick while it runs: the runner starts it once
        return False
    if state.outcome is HookOutcome.OK:
        return True
    run = ctx.obs.checklist
    failing = _failed(run, required=True) if run is not None else []
    if failing:
        message = f"the readiness checklist failed before promotion: {describe(failing)}"
        value: object = [check.to_json() for check in failing]
    else:  # it could not run at all (or was cancelled): the journaled detail says why
        message, value = f"the readiness checklist {state.outcome} before promotion: {state.detail}", state.detail
    fail(ctx, message, trigger=TRIGGER, value=value, limit=LIMIT)
    return False


def jump_to_checklist(ctx: Ctx) -> bool:
    """`promote --full` at a step before the checklist: go to the `readiness` stage first (it is never skipped).
    True when the rollout moved there."""
    s = ctx.s
    stages = plan(ctx.spec, s)
    if KEY not in stages or stages.index(KEY) < stages.index(s.stage):
        return False
    s.stage, s.stage_started_at = KEY, ctx.now
    s.pause_started_at = s.analysis_started_at = None
    if s.phase is Phase.PAUSED:
        s.phase = transition(s.phase, PhaseEvent.RESUME)
    return True


def stop_checklist(ctx: Ctx) -> None:
    """Rolling back while the checklist runs: stop it (asked again each tick until journaled)."""
    s = ctx.s
    state = s.data_steps.get(KEY)
    if s.aborted and state is not None and state.outcome is HookOutcome.STARTED:
        ctx.actions.append(StopChecklist(f"the rollout of {s.version} is rolling back: {s.abort_reason}"))


CHECKLIST_STAGES = {KEY: _stage_readiness}
