"""The plan of a rollout: its traffic steps and its stages, derived from the spec and the status only."""

from __future__ import annotations

from greenflag.rollout.model import Status
from greenflag.rollout.presets import canary_steps
from greenflag.spec import AnalysisStep, PauseBody, PauseStep, SetWeightStep, Spec, Step

__all__ = [
    "analysis_active",
    "analysis_run_key",
    "analysis_traffic_due",
    "data_stages",
    "plan",
    "promotion_needs_evidence",
    "readiness_at",
    "rollout_steps",
]
__pure__ = True


def rollout_steps(spec: Spec, status: Status) -> list[Step]:
    """The traffic steps: the canary's (or its preset's); blue-green's two-step plan; 100 % for a first deploy."""
    if status.initial:
        return [SetWeightStep(set_weight=100)]
    if spec.strategy.canary is not None:
        return canary_steps(spec.strategy.canary)
    bg = spec.strategy.blue_green
    assert bg is not None
    steps: list[Step] = []
    if bg.pre_promotion_analysis is not None:
        steps.append(AnalysisStep(analysis=bg.pre_promotion_analysis))
    if not bg.auto_promote:
        steps.append(PauseStep(pause=PauseBody(duration=None)))
    steps.append(SetWeightStep(set_weight=100))
    if bg.post_promotion_analysis is not None:
        steps.append(AnalysisStep(analysis=bg.post_promotion_analysis))
    return steps


def data_stages(spec: Spec, status: Status, where: str) -> list[str]:
    """The data stages (rollout/datastages.py) of `where`: "install" (after after_install, before any traffic),
    "promote" (after promote) or "rollback" (before the on_rollback hooks); only what the spec configures."""
    migrations, cdn = spec.migrations, spec.cdn
    guard = migrations is not None and migrations.guard is not None and status.stable not in (None, status.version)
    out: list[str] = []
    if where == "install" and migrations is not None:
        if guard and migrations.guard is not None and migrations.guard.baseline:
            out.append("migration_baseline")
        # the guard first after `up`: while it runs, the stable version serves on the new schema
        out += [
            "migrate_up",
            *(["migration_guard"] if guard else []),
            *(["migration_check"] if migrations.check else []),
        ]
    elif where == "promote" and cdn is not None and "promote" in cdn.when:
        out.append("cdn_promote")
    elif where == "rollback":
        if cdn is not None and "rollback" in cdn.when:
            out.append("cdn_rollback")
        if migrations is not None:
            out += ["migrate_down", *(["migration_check_down"] if migrations.check else [])]
    return out


def readiness_at(spec: Spec, status: Status) -> int | None:
    """Where the `readiness` stage (rollout/checklist.py) sits among the traffic steps: before the first step that
    gives the version all of the traffic (blue-green's switch, a canary's 100 % step), else after the last step;
    None without `readiness.required_before: promote`, and for the initial deployment (nothing to fall back to)."""
    if spec.readiness.required_before != "promote" or status.initial:
        return None
    steps = rollout_steps(spec, status)
    full = (i for i, step in enumerate(steps) if isinstance(step, SetWeightStep) and step.set_weight == 100)
    return next(full, len(steps))


def plan(spec: Spec, status: Status) -> list[str]:
    steps = [f"step:{i}" for i in range(len(rollout_steps(spec, status)))]
    checklist = readiness_at(spec, status)
    if checklist is not None:
        steps.insert(checklist, "readiness")
    if status.aborted:
        return [*data_stages(spec, status, "rollback"), "on_rollback", "scale_down_canary", "done"]
    return [
        "before_install",
        "launch",
        "ready",
        "after_install",
        *data_stages(spec, status, "install"),
        "test_traffic",
        "after_allow_test_traffic",
        "before_allow_traffic",
        *steps,
        "after_allow_traffic",
        "promote",
        *data_stages(spec, status, "promote"),
        "scale_down",
        "done",
    ]


def analysis_run_key(spec: Spec, status: Status) -> str | None:
    """The analysis run that should be measuring now: "step:N" at an analysis step, "background" while a canary
    with background analysis has traffic, None otherwise. One run at a time; each keeps its own counts."""
    if status.aborted or status.terminal or status.stage not in plan(spec, status):
        return None
    if status.stage.startswith("step:"):
        step = rollout_steps(spec, status)[status.step]
        if isinstance(step, AnalysisStep):
            return status.stage
    background = spec.strategy.canary is not None and spec.strategy.canary.background_analysis
    traffic_stages = status.stage.startswith("step:") or status.stage in ("readiness", "after_allow_traffic")
    traffic_stages = traffic_stages or (status.stage == "promote" and promotion_needs_evidence(spec, status))
    if background and traffic_stages and status.weights.get(status.version, 0) > 0:
        return "background"
    return None


def promotion_needs_evidence(spec: Spec, status: Status) -> bool:
    """Whether promotion waits for the background analysis to decide: a canary plan without analysis steps (those
    need their own evidence), background analysis on, something to judge; never the initial deployment or
    `promote --full`."""
    canary = spec.strategy.canary
    if status.initial or status.promote_full or canary is None or not canary.background_analysis:
        return False
    if not (spec.analysis.defaults or spec.analysis.metrics):
        return False
    return not any(isinstance(step, AnalysisStep) for step in rollout_steps(spec, status))


def analysis_active(spec: Spec, status: Status) -> bool:
    """Whether the controller should take analysis measurements of the version under test now."""
    return analysis_run_key(spec, status) is not None


def analysis_traffic_due(spec: Spec, status: Status, now: float) -> tuple[str, float, float | None] | None:
    """Whether `analysis.traffic` should be sent now: (the analysis run, its start, when the traffic ends or None
    for "while analysing"), or None — no traffic configured, no run measuring, the rollout held, aborted or done,
    or the run's traffic duration over. Times are the journal's (epochs)."""
    traffic, run = spec.analysis.traffic, status.analysis_run
    if traffic is None or run is None or status.aborted or status.terminal or status.hold is not None:
        return None
    state = status.analysis.get(run)
    if state is None:
        return None
    started = float(state["started_at"])
    ends = None if traffic.duration is None else started + traffic.duration
    if ends is not None and now >= ends:
        return None
    return run, started, ends
