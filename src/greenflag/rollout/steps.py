"""The pure step machine: `decide(spec, status, observations, now) -> (status, actions)`.

No I/O, no clock: progress is derived from the spec and the (journaled) status only, so a restarted controller
converges from where the last one stopped. A rollout walks a plan of stages:

    before_install → launch → ready → after_install → test_traffic → after_allow_test_traffic
    → before_allow_traffic → step:0 … step:N-1 → after_allow_traffic → promote → scale_down → done

and, once something fails (analysis Failed/Error, health gate, hook, abort):

    on_rollback → scale_down_canary → done

Rollback sends 100 % to stable in the same tick the failure is seen.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from greenflag.analysis.alarms import alarm_trigger
from greenflag.analysis.verdicts import Verdict
from greenflag.rollout.actions import (
    Action,
    LaunchVersion,
    Notify,
    RunHook,
    SetBackends,
    SetHeaderRoute,
    SetWeights,
    StopVersion,
    WaitReady,
)
from greenflag.rollout.drain import drain_wait
from greenflag.rollout.model import Event, HookOutcome, Observations, Phase, Status
from greenflag.rollout.phases import PhaseEvent, transition
from greenflag.rollout.plan import analysis_active, analysis_run_key, plan, rollout_steps
from greenflag.rollout.runs import record, run_complete, run_metrics, start_run, verdict_of
from greenflag.spec import AnalysisBody, PauseBody, PauseStep, SetWeightStep, Spec

__all__ = ["analysis_active", "decide", "new_status", "plan", "rollout_steps"]
__pure__ = True

HOOKS_FORWARD = ("before_install", "after_install", "after_allow_test_traffic", "before_allow_traffic")
MAX_EVENTS = 200
MAX_MEASUREMENTS = 20


def new_status(spec: Spec, rollout_id: int, version: str, stable: str | None, now: float) -> Status:
    """The status of a rollout that has just been asked for."""
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
    return status


@dataclass
class _Ctx:
    spec: Spec
    s: Status
    obs: Observations
    now: float
    actions: list[Action] = field(default_factory=list)
    skip_step: bool = False

    def event(self, kind: str, message: str, **trigger: Any) -> None:
        self.s.events.append(Event(self.now, kind, message, **trigger))
        del self.s.events[:-MAX_EVENTS]

    def notify(self, event: str, message: str) -> None:
        if event not in self.s.notified:
            self.s.notified.append(event)
            self.actions.append(Notify(event, message))

    def set_weights(self, canary_weight: int) -> None:
        s = self.s
        weights = {s.version: canary_weight}
        if s.stable is not None and s.stable != s.version:
            weights[s.stable] = 100 - canary_weight
        s.weights = weights
        self.actions.append(SetWeights(tuple(sorted(weights.items()))))

    def advance(self) -> None:
        stages = plan(self.spec, self.s)
        self.s.stage = stages[stages.index(self.s.stage) + 1]
        self.s.stage_started_at = self.now
        if self.s.stage.startswith("step:"):
            self.s.step = int(self.s.stage[5:])
        elif self.s.stage in ("after_allow_traffic", "promote"):
            self.s.step = len(rollout_steps(self.spec, self.s))


def _abort_delay(spec: Spec) -> float:
    strategy = spec.strategy.canary or spec.strategy.blue_green
    assert strategy is not None
    return strategy.abort_scale_down_delay


def fail(ctx: _Ctx, message: str, *, trigger: str, value: Any = None, limit: str | None = None) -> None:
    """Roll back: 100 % to stable (or nothing, for a first deployment) now; hooks and scale-down follow."""
    s = ctx.s
    if s.aborted or s.terminal:
        return
    s.aborted = True
    s.abort_reason = message
    s.hold = None
    s.pause_started_at = s.analysis_started_at = None
    s.phase = transition(s.phase, PhaseEvent.ABORT)
    s.stage, s.stage_started_at = "on_rollback", ctx.now
    s.weights = {s.stable: 100} if s.stable else {}
    s.header_route = None
    ctx.actions += [SetWeights(tuple(sorted(s.weights.items()))), SetHeaderRoute(None)]
    ctx.event("rollback", f"rolling back {s.version}: {message}", trigger=trigger, value=value, limit=limit)
    ctx.notify("rollout_aborted", f"{s.service}: rollout of {s.version} aborted: {message}")


def _hooks_finished(ctx: _Ctx, lifecycle: str) -> bool:
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


def _stage_launch(ctx: _Ctx) -> bool:
    if ctx.s.version in ctx.obs.launched:
        return True
    problem = ctx.obs.liveness_failures.get(ctx.s.version)
    if problem is not None:  # the platform could not start it
        fail(ctx, f"cannot launch {ctx.s.version}: {problem}", trigger="launch", value=problem, limit="started")
        return False
    ctx.actions.append(LaunchVersion(ctx.s.version))
    return False


def _stage_ready(ctx: _Ctx) -> bool:
    s, spec = ctx.s, ctx.spec
    ready = ctx.obs.ready.get(s.version)
    if ready:
        ctx.event("ready", f"{s.version} passed its readiness gate")
        return True
    if ready is False:
        fail(ctx, f"{s.version} failed its readiness gate", trigger="readiness", value="failed", limit="ready")
    elif s.version not in ctx.obs.launched:
        fail(ctx, f"{s.version}: instances exited before ready", trigger="instances", value="exited", limit="running")
    elif ctx.now - s.stage_started_at > spec.platform.start_timeout:
        limit = f"start_timeout {spec.platform.start_timeout:g}s"
        fail(ctx, f"{s.version} not ready in time", trigger="readiness", value="not ready", limit=limit)
    else:
        ctx.actions.append(WaitReady(s.version))
    return False


def _stage_test_traffic(ctx: _Ctx) -> bool:
    s = ctx.s
    s.backends = sorted({s.version, *([s.stable] if s.stable else [])})
    s.header_route = s.version
    ctx.actions += [SetBackends(tuple(s.backends)), SetHeaderRoute(s.version)]
    ctx.event("test_traffic", f"test traffic (route header) reaches {s.version}")
    return True


def _stage_step(ctx: _Ctx) -> bool:
    s = ctx.s
    step = rollout_steps(ctx.spec, s)[s.step]
    if s.promote_full:
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


def _pause(ctx: _Ctx, body: PauseBody) -> bool:
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


def _analysis(ctx: _Ctx, body: AnalysisBody) -> bool:
    s = ctx.s
    if s.analysis_started_at is None:
        s.analysis_started_at = ctx.now
        ctx.event("analysis", f"step {s.step}: analysis started")
    duration = body.duration if body.duration is not None else ctx.spec.analysis.window
    complete = body.duration is None and s.analysis_run == s.stage and run_complete(ctx.spec, s)
    if not (ctx.now >= s.analysis_started_at + duration or complete or ctx.skip_step):
        return False
    s.analysis_started_at = None
    ctx.event("analysis", f"step {s.step}: analysis passed")
    return True


def _stage_promote(ctx: _Ctx) -> bool:
    s = ctx.s
    s.previous, s.stable = s.stable, s.version
    s.weights = {s.version: 100}
    s.header_route = None
    ctx.actions += [SetWeights(((s.version, 100),)), SetHeaderRoute(None)]
    s.phase = transition(s.phase, PhaseEvent.PROMOTED)
    s.completed_at = ctx.now
    ctx.event("promoted", f"{s.version} promoted: 100 % of traffic")
    ctx.notify("rollout_completed", f"{s.service}: {s.version} promoted")
    return True


def _draining(ctx: _Ctx, delay: float, version: str | None) -> bool:
    waiting, note = drain_wait(ctx.s, ctx.obs.drain_s, delay, version, ctx.now)
    if note is not None:
        ctx.event("draining", note)
    return waiting


def _stage_scale_down(ctx: _Ctx) -> bool:
    s, bg = ctx.s, ctx.spec.strategy.blue_green
    delay = bg.scale_down_delay if bg is not None else 0.0
    if _draining(ctx, delay, s.previous if s.previous != s.version else None):
        return False
    s.backends = [s.version]
    ctx.actions.append(SetBackends((s.version,)))
    if s.previous is not None and s.previous != s.version:
        ctx.actions.append(StopVersion(s.previous, ctx.spec.platform.stop_grace))
        ctx.event("scaled_down", f"stopped {s.previous}")
    return True


def _stage_scale_down_canary(ctx: _Ctx) -> bool:
    s = ctx.s
    if _draining(ctx, _abort_delay(ctx.spec), s.version):
        return False
    s.backends = [s.stable] if s.stable else []
    ctx.actions.append(SetBackends(tuple(s.backends)))
    if s.version != s.stable:
        ctx.actions.append(StopVersion(s.version, ctx.spec.platform.stop_grace))
    s.phase = transition(s.phase, PhaseEvent.ROLLED_BACK)
    s.completed_at = ctx.now
    ctx.event("rolled_back", f"rolled back: {s.stable or 'no version'} serves, {s.version} stopped")
    ctx.notify("rollout_rolled_back", f"{s.service}: {s.version} rolled back")
    return True


_STAGES: dict[str, Callable[[_Ctx], bool]] = {
    "launch": _stage_launch,
    "ready": _stage_ready,
    "test_traffic": _stage_test_traffic,
    "promote": _stage_promote,
    "scale_down": _stage_scale_down,
    "scale_down_canary": _stage_scale_down_canary,
}


def _run_stage(ctx: _Ctx) -> bool:
    stage = ctx.s.stage
    if stage.startswith("step:"):
        return _stage_step(ctx)
    if stage in _STAGES:
        return _STAGES[stage](ctx)
    return _hooks_finished(ctx, stage)


def _observe(ctx: _Ctx) -> None:
    s = ctx.s
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


def _commands(ctx: _Ctx) -> None:
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
                _release_hold(ctx)
            elif command == "promote" or _indefinite_pause(ctx):
                ctx.skip_step = True


def _indefinite_pause(ctx: _Ctx) -> bool:
    """At a `pause: {}` step (one that waits for promote/resume)."""
    s = ctx.s
    if not s.stage.startswith("step:") or s.pause_started_at is None:
        return False
    step = rollout_steps(ctx.spec, s)[s.step]
    return isinstance(step, PauseStep) and step.pause.duration is None


def _release_hold(ctx: _Ctx) -> None:
    """Resume after an inconclusive analysis: the run starts afresh (new counts, new canary window)."""
    s = ctx.s
    s.hold = None
    if s.analysis_run is not None:
        s.analysis.pop(s.analysis_run, None)
        start_run(s, s.analysis_run, ctx.now)
    s.phase = transition(s.phase, PhaseEvent.RESUME)


def _watch(ctx: _Ctx) -> None:
    """Failures that roll back from any stage once the version is launched: instances, liveness, analysis."""
    s, obs = ctx.s, ctx.obs
    stages = plan(ctx.spec, s)
    if s.aborted or s.terminal or stages.index(s.stage) <= stages.index("ready"):
        return
    if s.version not in obs.launched:
        fail(ctx, f"{s.version}: instances are not running", trigger="instances", value="exited", limit="running")
    elif s.version in obs.liveness_failures:
        detail = obs.liveness_failures[s.version]
        fail(ctx, f"{s.version} failed liveness: {detail}", trigger="liveness", value=detail, limit="live")
    else:
        v = verdict_of(ctx.spec, s)
        if v.verdict.rolls_back:
            message = f"analysis {v.verdict}: {v.message}"
            fail(ctx, message, trigger=v.metric or "analysis", value=v.value, limit=v.limit)
        elif v.verdict is Verdict.INCONCLUSIVE and s.hold is None:
            s.hold = "inconclusive"
            s.phase = transition(s.phase, PhaseEvent.PAUSE)
            ctx.event("paused", f"{v.message}: paused until resumed", trigger=v.metric, value=v.value, limit=v.limit)
            ctx.notify("rollout_paused", f"{s.service}: rollout of {s.version} paused: {v.message}")


def _alarms(ctx: _Ctx) -> None:
    """CloudWatch alarms (analysis.alarms): a listed alarm in ALARM rolls back from any stage of a rollout in flight."""
    if ctx.spec.analysis.alarms is not None and ctx.obs.alarms is not None and (
            found := alarm_trigger(ctx.spec.analysis.alarms, ctx.obs.alarms)) is not None:  # fmt: skip
        fail(ctx, found.message, trigger=found.trigger, value=found.value, limit=found.limit)


def _sync_run(ctx: _Ctx) -> None:
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
    ctx = _Ctx(spec, copy.deepcopy(status), observations, now)
    _observe(ctx)
    _commands(ctx)
    _watch(ctx)
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
    _sync_run(ctx)
    if ctx.s != status:
        ctx.s.updated_at = now
    return ctx.s, ctx.actions
