"""One decision's working state (pure): the spec, a copy of the status, the observations, the time, and the actions
collected so far; and `fail`, the rollback that every part of the step machine (steps.py, launch.py, judge.py)
takes the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from greenflag.rollout.actions import Action, Notify, SetHeaderRoute, SetWeights
from greenflag.rollout.model import Event, Observations, Status
from greenflag.rollout.phases import PhaseEvent, transition
from greenflag.rollout.plan import plan, rollout_steps
from greenflag.spec import Spec

__all__ = ["MAX_EVENTS", "Ctx", "abort_delay", "fail"]
__pure__ = True

MAX_EVENTS = 200


@dataclass
class Ctx:
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


def abort_delay(spec: Spec) -> float:
    strategy = spec.strategy.canary or spec.strategy.blue_green
    assert strategy is not None
    return strategy.abort_scale_down_delay


def fail(ctx: Ctx, message: str, *, trigger: str, value: Any = None, limit: str | None = None) -> None:
    """Roll back: 100 % to stable (or nothing, for a first deployment) now; hooks and scale-down follow."""
    s = ctx.s
    if s.aborted or s.terminal:
        return
    s.aborted = True
    s.abort_reason = message
    s.hold = None
    s.pause_started_at = s.analysis_started_at = None
    s.phase = transition(s.phase, PhaseEvent.ABORT)
    s.stage, s.stage_started_at = plan(ctx.spec, s)[0], ctx.now  # on_rollback, or a data stage before it
    s.weights = {s.stable: 100} if s.stable else {}
    s.header_route = None
    ctx.actions += [SetWeights(tuple(sorted(s.weights.items()))), SetHeaderRoute(None)]
    ctx.event("rollback", f"rolling back {s.version}: {message}", trigger=trigger, value=value, limit=limit)
    ctx.notify("rollout_aborted", f"{s.service}: rollout of {s.version} aborted: {message}")
