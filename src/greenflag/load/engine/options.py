"""Executor plans from command-line options or a script's k6-style `options` (pure; errors name the option)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from greenflag.load.engine import schedules as sch
from greenflag.units import parse_duration

__all__ = ["PlanOptions", "build_plan", "from_mapping", "parse_stage"]
__pure__ = True


@dataclass(frozen=True)
class PlanOptions:
    executor: str | None = None
    vus: int | None = None
    duration: float | None = None
    rate: float | None = None
    max_vus: int | None = None
    stages: tuple[sch.Stage, ...] = ()
    iterations: int | None = None
    start: float | None = None  # start VUs (ramping-vus) or start rate (ramping-arrival-rate)
    graceful_stop: float | None = None  # seconds for running iterations at the end (k6's gracefulStop)

    def merged(self, override: PlanOptions) -> PlanOptions:
        """`override`'s values win where set (command line over the script's options)."""
        changes = {k: v for k, v in override.__dict__.items() if v not in (None, ())}
        return replace(self, **changes)


def parse_stage(text: str) -> sch.Stage:
    """'30s:100' → Stage(30.0, 100)."""
    duration, sep, target = text.partition(":")
    if not sep:
        raise ValueError(f"{text!r} is not DURATION:TARGET such as 30s:100")
    try:
        return sch.Stage(parse_duration(duration), float(target))
    except ValueError:
        raise ValueError(f"{text!r} is not DURATION:TARGET such as 30s:100") from None


def from_mapping(options: dict[str, Any]) -> PlanOptions:
    """k6-style options: vus, duration, rate, maxVUs/max_vus, stages [{duration, target}], iterations, executor."""
    stages = tuple(
        sch.Stage(parse_duration(s["duration"]), float(s["target"])) for s in options.get("stages", []) or []
    )
    duration = options.get("duration")
    return PlanOptions(
        executor=options.get("executor"),
        vus=options.get("vus"),
        duration=None if duration is None else parse_duration(duration),
        rate=options.get("rate"),
        max_vus=options.get("max_vus", options.get("maxVUs")),
        stages=stages,
        iterations=options.get("iterations"),
        start=options.get("start_rate", options.get("startRate", options.get("start_vus", options.get("startVUs")))),
    )


def _default_executor(o: PlanOptions) -> str:
    if o.rate is not None:
        return "ramping-arrival-rate" if o.stages else "constant-arrival-rate"
    if o.stages:
        return "ramping-vus"
    if o.iterations is not None:
        return "shared-iterations"
    return "constant-vus"


def build_plan(o: PlanOptions, *, default_vus: int = 10, default_duration: float = 10.0) -> sch.ExecutorConfig:
    """Raises ValueError naming the option (--vus, --rate, --stage, …) when the combination does not work."""
    name = o.executor or _default_executor(o)
    vus = o.vus if o.vus is not None else default_vus
    duration = o.duration if o.duration is not None else default_duration
    plan: sch.ExecutorConfig
    if name == "constant-vus":
        plan = sch.ConstantVUs(vus, duration)
    elif name == "ramping-vus":
        if not o.stages:
            raise ValueError("--executor ramping-vus needs --stage DURATION:VUS (repeatable)")
        plan = sch.RampingVUs(int(o.start or 0), o.stages)
    elif name in ("constant-arrival-rate", "ramping-arrival-rate"):
        peak = max([o.rate or 0.0, o.start or 0.0, *(s.target for s in o.stages)])
        if peak <= 0:
            raise ValueError(f"--executor {name} needs --rate N (iterations per second)")
        pre = o.vus if o.vus is not None else max(1, min(100, math.ceil(peak)))
        max_vus = o.max_vus if o.max_vus is not None else max(pre, min(10_000, math.ceil(peak * 10)))
        if name == "constant-arrival-rate":
            plan = sch.ConstantArrivalRate(float(o.rate or peak), duration, pre, max_vus)
        else:
            if not o.stages:
                raise ValueError("--executor ramping-arrival-rate needs --stage DURATION:RATE (repeatable)")
            start = o.start if o.start is not None else (o.rate or 0.0)
            plan = sch.RampingArrivalRate(float(start), o.stages, pre, max_vus)
    elif name in ("shared-iterations", "per-vu-iterations"):
        if o.iterations is None:
            raise ValueError(f"--executor {name} needs --iterations N")
        max_duration = o.duration if o.duration is not None else 600.0
        cls = sch.SharedIterations if name == "shared-iterations" else sch.PerVUIterations
        plan = cls(vus, o.iterations, max_duration)
    else:
        raise ValueError(f"--executor {name!r} is not one of {', '.join(sch.EXECUTORS)}")
    problems = sch.validate(plan)
    if problems:
        raise ValueError(f"--executor {name}: " + "; ".join(problems))
    return plan
