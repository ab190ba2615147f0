"""The pure step machine: `decide(spec, status, observations, now) -> (status, actions)`.

No I/O, no clock: progress is derived from the spec and the (journaled) status only, so a restarted controller
converges from where the last one stopped. A rollout walks a plan of stages:

    before_install → launch → ready → after_install → [migrations] → test_traffic → after_allow_test_traffic
    → before_allow_traffic → step:0 … step:N-1 → after_allow_traffic → promote → [cdn] → scale_down → done

and, once something fails (analysis Failed/Error, health gate, hook, migration or its guard, abort):

    [cdn, migrate down] → on_rollback → scale_down_canary → done

The bracketed data stages (only when `migrations:` or `cdn:` are configured) are decided in datastages.py; with
`readiness.required_before: promote`, a `readiness` stage before the version gets all of the traffic, in
checklist.py.

Rollback sends 100 % to stable in the same tick the failure is seen.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from greenflag.analysis.alarms import alarm_trigger
from greenflag.rollout.actions import Action, RunHook, SetBackends, SetHeaderRoute, SetWeights, StopHook, StopVersion
from greenflag.rollout.checklist import CHECKLIST_STAGES, jump_to_checklist, observe_checklist, stop_checklist
from greenflag.rollout.context import MAX_EVENTS, Ctx, abort_delay, fail
from greenflag.rollout.datastages import DATA_STAGES, observe_data
from greenflag.rollout.drain import drain_wait
from greenflag.rollout.judge import judge_run, promotion_evidence, release_hold, step_evidence
from greenflag.rollout.launch import note_exits, stage_launch, stage_ready
from greenflag.rollout.model import Event, HookOutcome, Observations, Phase, Status
from greenflag.rollout.phases import PhaseEvent, transition
from greenflag.rollout.plan import analysis_active, analysis_run_key, plan, rollout_steps
from greenflag.rollout.runs import record, run_complete, run_metrics, start_run
from greenflag.spec import AnalysisBody, PauseBody, PauseStep, SetWeightStep, Spec

__all__ = ["analysis_active", "decide", "hand_over", "new_status", "note_router", "plan", "rollout_steps"]
__pure__ = True

HOOKS_FORWARD = ("before_install", "after_install", "after_allow_test_traffic", "before_allow_traffic")
MAX_MEASUREMENTS = 20


def new_status(
    spec: Spec, rollout_id: int, version: str, stable: str | None, now: float, retiring: dict[str, float] | None = None
) -> Status:
    """The status of a rollout that has just been asked for (`retiring`: versions to stop, from `hand_over`)."""
    status = Status(
        rollout_id=rollout_id,
        service=spec.service,
        version=version,
        stable=stable,
        strategy="canary" if spec.strategy.canary is not None else "blue_green",
        initial=stable is None,
        weights={stable: 100} if stable else {},
        backends=[stable] if stable else [],
        created_at=now,
        updated_at=now,
        stage_started_at=now,
    )
    kind = "initial deployment" if stable is None else f"{status.strategy} from {stable}"
    status.events.append(Event(now, "started", f"rollout of {version} started ({kind})"))
    status.retiring = {v: at for v, at in (retiring or {}).items() if v not in (version, stable)}
    for old, at in sorted(status.retiring.items()):
        status.events.append(
            Event(now, "retiring", f"{old} (scaling down after the last rollout) stops in {max(0.0, at - now):.1f}s")
        )
    return status


def hand_over(spec: Spec, previous: Status, rollout_id: int, now: float) -> tuple[Status, dict[str, float]]:
    """A new rollout starts while `previous` is promoted but still in its scale-down delay: the version it would stop
    (and any it was still retiring) passes to the new rollout — stopped when the delay ends, at the latest when the
    new rollout scales down — and `previous` is done. Returns (previous, now done; the versions to retire)."""
    retiring = dict(previous.retiring)
    if previous.previous is not None and previous.previous != previous.version:
        bg = spec.strategy.blue_green
        delay = bg.scale_down_delay if bg is not None and previous.stage == "scale_down" else 0.0
        retiring[previous.previous] = previous.stage_started_at + delay
    done = copy.deepcopy(previous)
    done.stage, done.retiring, done.updated_at = "done", {}, now
    names = ", ".join(sorted(retiring)) or "nothing"
    done.events.append(Event(now, "handed_over", f"rollout {rollout_id} started; it stops {names} (scale-down delay)"))
    return done, retiring


def _retire(ctx: Ctx, *, all_now: bool = False) -> None:
    """Stop the versions a previous rollout left scaling down, when their time has come (or all, now)."""
    s = ctx.s
    for version, at in sorted(s.retiring.items()):
        if version in (s.version, s.stable):
            del s.retiring[version]
        elif all_now or ctx.now >= at:
            del s.retiring[version]
            ctx.actions.append(StopVersion(version, ctx.spec.platform.stop_grace))
            ctx.event("scaled_down", f"stopped {version} (its scale-down delay from the previous rollout ended)")


def _hooks_finished(ctx: Ctx, lifecycle: str) -> bool:
    fatal = lifecycle != "on_rollback"
    for i, hook in enumerate(getattr(ctx.spec.hooks, lifecycle)):
        key = f"{lifecycle}[{i}]"
        state = ctx.s.hooks.get(key)
        if state is None:
            ctx.actions.append(RunHook(key, lifecycle, hook.run, hook.timeout))
            return False
        if state.outcome is HookOutcome.STARTED:
            return False
        if state.outcome is not HookOutcome.OK and fatal:
            message = f"hook {key} {hook.run!r} {state.outcome}: {state.detail}"
            fail(ctx, message, trigger=f"hook {key}", value=state.detail, limit="exit status 0")
            return False
    return True


def _stage_test_traffic(ctx: Ctx) -> bool:
    s = ctx.s
    s.backends = sorted({s.version, *([s.stable] if s.stable else [])})
    s.header_route = s.version
    ctx.actions += [SetBackends(tuple(s.backends)), SetHeaderRoute(s.version)]
    ctx.event("test_traffic", f"test traffic (route header) reaches {s.version}")
    return True


def _stage_step(ctx: Ctx) -> bool:
    s = ctx.s
    step = rollout_steps(ctx.spec, s)[s.step]
    if s.promote_full:
        if jump_to_checklist(ctx):
            return False  # the required readiness checklist first; then the loop comes back here
        ctx.set_weights(100)
        ctx.event("promote_full", f"promoted to 100 % {s.version}, skipping the remaining steps")
        s.stage = "after_allow_traffic"
        s.step = len(rollout_steps(ctx.spec, s))
        s.pause_started_at = s.analysis_started_at = None
        if s.phase is Phase.PAUSED:
            s.phase = transition(s.phase, PhaseEvent.RESUME)
        return False  # the loop continues with the new stage
    if isinstance(step, SetWeightStep):
        ctx.set_weights(step.set_weight)
        ctx.event("step", f"step {s.step}: {step.set_weight} % to {s.version}")
        return True
    if isinstance(step, PauseStep):
        return _pause(ctx, step.pause)
    return _analysis(ctx, step.analysis)


def _pause(ctx: Ctx, body: PauseBody) -> bool:
    s = ctx.s
    if s.pause_started_at is None:
        s.pause_started_at = ctx.now
        s.phase = transition(s.phase, PhaseEvent.PAUSE)
        until = "until promoted" if body.duration is None else f"for {body.duration:g}s"
        ctx.event("paused", f"step {s.step}: paused {until}")
    elapsed = body.duration is not None and ctx.now >= s.pause_started_at + body.duration
    if not (elapsed or ctx.skip_step):
        return False
    s.pause_started_at = None
    s.phase = transition(s.phase, PhaseEvent.RESUME)
    ctx.event("resumed", f"step {s.step}: pause over")
    return True


def _analysis(ctx: Ctx, body: AnalysisBody) -> bool:
    s = ctx.s
    if s.analysis_started_at is None:
        s.analysis_started_at = ctx.now
        ctx.event("analysis", f"step {s.step}: analysis started")
    duration = body.duration if body.duration is not None else ctx.spec.analysis.window
    complete = body.duration is None and s.analysis_run == s.stage and run_complete(ctx.spec, s)
    if not (ctx.now >= s.analysis_started_at + duration or complete or ctx.skip_step):
        return False
    if not step_evidence(ctx, ctx.now - s.analysis_started_at):
        return False  # Inconclusive: held (pause) or rolled back, per analysis.on_inconclusive
    s.analysis_started_at = None
    return True


def _stage_promote(ctx: Ctx) -> bool:
    s = ctx.s
    if not promotion_evidence(ctx):
        return False
    s.previous, s.stable = s.stable, s.version
    s.weights = {s.version: 100}
    s.header_route = None
    ctx.actions += [SetWeights(((s.version, 100),)), SetHeaderRoute(None)]
    s.phase = transition(s.phase, PhaseEvent.PROMOTED)
    s.completed_at = ctx.now
    ctx.event("promoted", f"{s.version} promoted: 100 % of traffic")
    ctx.notify("rollout_completed", f"{s.service}: {s.version} promoted")
    return True


def _draining(ctx: Ctx, delay: float, version: str | None) -> bool:
    counts = ctx.obs.open_requests  # None: the router cannot count them; a version not in it: not asked yet
    open_now = 0 if counts is None or version is None else counts.get(version)
    limit = float(ctx.spec.router.drain_timeout)
    waiting, note = drain_wait(ctx.s, ctx.obs.drain_s, delay, version, ctx.now, open_now, limit)
    if note is not None:
        ctx.event("draining", note)
    return waiting


def _stage_scale_down(ctx: Ctx) -> bool:
    s, bg = ctx.s, ctx.spec.strategy.blue_green
    delay = bg.scale_down_delay if bg is not None else 0.0
    if _draining(ctx, delay, s.previous if s.previous != s.version else None):
        return False
    s.backends = [s.version]
    ctx.actions.append(SetBackends((s.version,)))
    if s.previous is not None and s.previous != s.version:
        ctx.actions.append(StopVersion(s.previous, ctx.spec.platform.stop_grace))
        ctx.event("scaled_down", f"stopped {s.previous}")
    _retire(ctx, all_now=True)
    return True


def _stage_scale_down_canary(ctx: Ctx) -> bool:
    s = ctx.s
    if _draining(ctx, abort_delay(ctx.spec), s.version):
        return False
    s.backends = [s.stable] if s.stable else []
    ctx.actions.append(SetBackends(tuple(s.backends)))
    if s.version != s.stable:
        ctx.actions.append(StopVersion(s.version, ctx.spec.platform.stop_grace))
    _retire(ctx, all_now=True)
    s.phase = transition(s.phase, PhaseEvent.ROLLED_BACK)
    s.completed_at = ctx.now
    ctx.event("rolled_back", f"rolled back: {s.stable or 'no version'} serves, {s.version} stopped")
    ctx.notify("rollout_rolled_back", f"{s.service}: {s.version} rolled back")
    return True


_STAGES: dict[str, Callable[[Ctx], bool]] = {
    "launch": stage_launch,
    "ready": stage_ready,
    "test_traffic": _stage_test_traffic,
    "promote": _stage_promote,
    "scale_down": _stage_scale_down,
    "scale_down_canary": _stage_scale_down_canary,
    **DATA_STAGES,
    **CHECKLIST_STAGES,
}


def _run_stage(ctx: Ctx) -> bool:
    stage = ctx.s.stage
    if stage.startswith("step:"):
        return _stage_step(ctx)
    if stage in _STAGES:
        return _STAGES[stage](ctx)
    return _hooks_finished(ctx, stage)


def _observe(ctx: Ctx) -> None:
    s = ctx.s
    note_exits(ctx)
    for key, state in ctx.obs.hooks.items():
        if s.hooks.get(key) != state:
            s.hooks[key] = state
            if state.outcome is not HookOutcome.STARTED:
                ctx.event("hook", f"hook {key} {state.outcome}{': ' + state.detail if state.detail else ''}")
    if ctx.obs.analysis_run is None or ctx.obs.analysis_run != s.analysis_run:
        return  # measurements of a run that has ended since they were taken
    metrics = run_metrics(ctx.spec, s)
    for m in ctx.obs.measurements:
        if record(s, metrics, m):
            s.measurements = [*s.measurements, m][-MAX_MEASUREMENTS:]


def _commands(ctx: Ctx) -> None:
    s = ctx.s
    for command in ctx.obs.commands:
        if s.terminal or s.aborted:
            continue
        if command == "abort":
            fail(ctx, "aborted by request", trigger="abort", value="abort", limit=None)
        elif command == "promote_full":
            s.promote_full = True
            ctx.event("command", "promote --full requested")
        elif command in ("promote", "resume"):
            ctx.event("command", f"{command} requested")
            if s.hold is not None:
                release_hold(ctx, accept=command == "promote")
            elif command == "promote" or _indefinite_pause(ctx):
                ctx.skip_step = True


def _indefinite_pause(ctx: Ctx) -> bool:
    """At a `pause: {}` step (one that waits for promote/resume)."""
    s = ctx.s
    if not s.stage.startswith("step:") or s.pause_started_at is None:
        return False
    step = rollout_steps(ctx.spec, s)[s.step]
    return isinstance(step, PauseStep) and step.pause.duration is None


def _stop_hooks(ctx: Ctx) -> None:
    """Once rolling back, a forward hook still running is stopped (asked again each tick until journaled)."""
    s = ctx.s
    if not s.aborted:
        return
    for key, state in sorted(s.hooks.items()):
        if state.outcome is HookOutcome.STARTED and not key.startswith("on_rollback"):
            ctx.actions.append(StopHook(key, f"the rollout of {s.version} is rolling back: {s.abort_reason}"))


def _watch(ctx: Ctx) -> None:
    """Failures that roll back from any stage once the version is launched: instances, liveness, analysis."""
    s, obs = ctx.s, ctx.obs
    stages = plan(ctx.spec, s)
    if s.aborted or s.terminal or stages.index(s.stage) <= stages.index("ready"):
        return
    if s.version not in obs.launched:
        exited = next((e for e in obs.exits if e.version == s.version), None)
        cause = exited.describe() if exited is not None else "instances are not running"
        value = exited.returncode if exited is not None else "exited"
        fail(ctx, f"{s.version}: {cause}", trigger="instances", value=value, limit="running")
    elif s.version in obs.liveness_failures:
        detail = obs.liveness_failures[s.version]
        fail(ctx, f"{s.version} failed liveness: {detail}", trigger="liveness", value=detail, limit="live")
    else:
        judge_run(ctx)


def _alarms(ctx: Ctx) -> None:
    """CloudWatch alarms (analysis.alarms): a listed alarm in ALARM rolls back from any stage of a rollout in flight."""
    if ctx.spec.analysis.alarms is not None and ctx.obs.alarms is not None and (
            found := alarm_trigger(ctx.spec.analysis.alarms, ctx.obs.alarms)) is not None:  # fmt: skip
        fail(ctx, found.message, trigger=found.trigger, value=found.value, limit=found.limit)


def _sync_run(ctx: Ctx) -> None:
    """Start (or switch to) the analysis run the current stage calls for; a run that ends keeps its counts."""
    s = ctx.s
    run = analysis_run_key(ctx.spec, s)
    if run == s.analysis_run:
        return
    if run is None:
        s.analysis_run = None
    else:
        start_run(s, run, ctx.now)


def decide(spec: Spec, status: Status, observations: Observations, now: float) -> tuple[Status, list[Action]]:
    """One control decision. Returns a new status (the input is not changed) and the actions to apply."""
    ctx = Ctx(spec, copy.deepcopy(status), observations, now)
    _observe(ctx)
    observe_data(ctx)
    observe_checklist(ctx)
    _commands(ctx)
    _watch(ctx)
    _retire(ctx)
    _alarms(ctx)
    for _ in range(4 * len(plan(spec, ctx.s)) + 8):
        if ctx.s.stage == "done" or ctx.s.hold is not None:
            break
        before = ctx.s.stage
        if _run_stage(ctx):
            ctx.skip_step = False
            ctx.advance()
        elif ctx.s.stage == before:
            break
    _stop_hooks(ctx)
    stop_checklist(ctx)
    _sync_run(ctx)
    if ctx.s != status:
        ctx.s.updated_at = now
    return ctx.s, ctx.actions


def note_router(status: Status, observed: dict[str, int] | None, at: float) -> Status:
    """Journal the weights read back from the router (a new status when they changed, with a `router` event
    at the time they were read: the trace of what the data plane really held)."""
    if observed is None or observed == status.router_weights:
        return status
    new = copy.deepcopy(status)
    new.router_weights, new.router_weights_at = dict(observed), at
    shown = ", ".join(f"{name} {weight}" for name, weight in sorted(observed.items())) or "no backends"
    new.events.append(Event(at, "router", f"router holds {shown} (read back)"))
    del new.events[:-MAX_EVENTS]
    return new
