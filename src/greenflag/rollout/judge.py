"""What the step machine does with analysis outcomes (pure): Failed or Error roll back; an analysis that ends
without enough evidence, or whose metrics are Inconclusive, follows `analysis.on_inconclusive`.

Undecided is not healthy. An analysis step that ends with a metric still undecided — no measurement, a statistical
test still saying "N more requests needed", an Error within its limit (`greenflag.analysis.verdicts.has_evidence`)
— is Inconclusive, not passed. A canary plan without analysis steps is judged by its background analysis: before
promotion it must have decided, and it gets up to `analysis.window` at the `promote` stage to do so
(`plan.promotion_needs_evidence`). Then, per `analysis.on_inconclusive`:

- `pause` (the default, as Argo Rollouts): hold; `rollout resume` analyses again (a fresh run, the step's or the
  window's full time), `rollout promote` accepts the result and moves on;
- `rollback`: roll back, the event naming the metric and the evidence;
- `promote`: record it and move on.

The event says how much evidence there was: per undecided metric, what it last said (canary requests, errors, "≈N
more clean requests needed") and, in `value`, those numbers.
"""

from __future__ import annotations

from typing import Any

from greenflag.analysis.verdicts import Verdict
from greenflag.rollout.context import Ctx, fail
from greenflag.rollout.phases import PhaseEvent, transition
from greenflag.rollout.plan import promotion_needs_evidence
from greenflag.rollout.runs import Undecided, start_run, undecided, verdict_of

__all__ = ["judge_run", "promotion_evidence", "release_hold", "step_evidence"]
__pure__ = True

HOLD = "inconclusive"


def _policy_limit(ctx: Ctx) -> str:
    return f"a decision before the analysis ends (analysis.on_inconclusive: {ctx.spec.analysis.on_inconclusive})"


def _inconclusive(ctx: Ctx, what: str, reason: str, *, trigger: str | None, value: Any, restart: bool) -> bool:
    """Apply analysis.on_inconclusive to an Inconclusive analysis. True: the rollout moves on (promote policy)."""
    s, policy = ctx.s, ctx.spec.analysis.on_inconclusive
    message = f"{what} Inconclusive: {reason}"
    if policy == "rollback":
        fail(ctx, message, trigger=trigger or "analysis", value=value, limit=_policy_limit(ctx))
        return False
    if policy == "promote":
        ctx.event(HOLD, f"{message}; moving on (analysis.on_inconclusive: promote)", trigger=trigger, value=value,
                  limit=_policy_limit(ctx))  # fmt: skip
        if restart and s.analysis_run is not None:
            s.analysis.pop(s.analysis_run, None)
            start_run(s, s.analysis_run, ctx.now)
        return True
    s.hold = HOLD
    s.phase = transition(s.phase, PhaseEvent.PAUSE)
    ctx.event(HOLD, f"{message}; paused: `rollout resume` analyses again, `rollout promote` accepts it",
              trigger=trigger, value=value, limit=_policy_limit(ctx))  # fmt: skip
    ctx.notify("rollout_paused", f"{s.service}: rollout of {s.version} paused: {message}")
    return False


def _explain(missing: list[Undecided]) -> tuple[str, str | None, dict[str, Any]]:
    reason = "not enough evidence: " + "; ".join(u.said for u in missing)
    return reason, missing[0].metric if missing else None, {u.metric: u.evidence for u in missing}


def judge_run(ctx: Ctx) -> None:
    """The active run's verdict from its journaled counts: Failed/Error roll back, Inconclusive follows the policy."""
    s = ctx.s
    v = verdict_of(ctx.spec, s)
    if v.verdict.rolls_back:
        fail(ctx, f"analysis {v.verdict}: {v.message}", trigger=v.metric or "analysis", value=v.value, limit=v.limit)
    elif v.verdict is Verdict.INCONCLUSIVE and s.hold is None:
        _inconclusive(ctx, f"analysis {s.analysis_run}", v.message, trigger=v.metric, value=v.value, restart=True)


def step_evidence(ctx: Ctx, elapsed: float) -> bool:
    """At the end of an analysis step: True when every metric of its run decided (or promote said to move on)."""
    s = ctx.s
    if ctx.skip_step:
        ctx.event("analysis", f"step {s.step}: analysis ended by `rollout promote`")
        return True
    missing = undecided(ctx.spec, s, s.stage)
    if not missing:
        ctx.event("analysis", f"step {s.step}: analysis passed")
        return True
    reason, trigger, value = _explain(missing)
    what = f"step {s.step}: analysis after {elapsed:g}s"
    return _inconclusive(ctx, what, reason, trigger=trigger, value=value, restart=False)


def promotion_evidence(ctx: Ctx) -> bool:
    """At the promote stage: True when promotion may go ahead — the background analysis decided (waiting up to
    analysis.window for it), or the plan does not need it, or promote said so."""
    s = ctx.s
    if ctx.skip_step or not promotion_needs_evidence(ctx.spec, s):
        return True
    missing = undecided(ctx.spec, s, "background")
    if not missing:
        return True
    waited = ctx.now - s.stage_started_at
    if waited < ctx.spec.analysis.window:
        return False  # the background analysis goes on measuring at the promote stage
    reason, trigger, value = _explain(missing)
    what = f"background analysis before promotion (waited {waited:g}s)"
    return _inconclusive(ctx, what, reason, trigger=trigger, value=value, restart=False)


def release_hold(ctx: Ctx, *, accept: bool) -> None:
    """Leave an inconclusive hold. `resume` (accept=False) analyses again: the run starts afresh (new counts, a new
    canary window) with the step's (or the promote stage's window) full time; `promote` (accept=True) also moves
    on past the current step."""
    s = ctx.s
    s.hold = None
    if s.analysis_run is not None:
        s.analysis.pop(s.analysis_run, None)
        start_run(s, s.analysis_run, ctx.now)
    if s.analysis_started_at is not None:
        s.analysis_started_at = ctx.now
    if s.stage == "promote":
        s.stage_started_at = ctx.now
    s.phase = transition(s.phase, PhaseEvent.RESUME)
    if accept:
        ctx.skip_step = True
