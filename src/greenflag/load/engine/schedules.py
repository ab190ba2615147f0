"""Executor plans (pure): k6's executor names and semantics, validated and printable before anything runs.

Closed models: constant-vus, ramping-vus, shared-iterations, per-vu-iterations.
Open models: constant-arrival-rate, ramping-arrival-rate (iterations start on schedule; when no VU is free and
max VUs are busy the iteration is counted in `dropped_iterations`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from greenflag.units import format_duration

__all__ = [
    "EXECUTORS",
    "ConstantArrivalRate",
    "ConstantVUs",
    "ExecutorConfig",
    "PerVUIterations",
    "RampingArrivalRate",
    "RampingVUs",
    "Segment",
    "SharedIterations",
    "Stage",
    "arrival_offsets",
    "describe",
    "max_vus",
    "participants",
    "split_iterations",
    "total_duration",
    "validate",
    "vus_at",
]
__pure__ = True


@dataclass(frozen=True)
class Stage:
    duration: float  # seconds
    target: float  # VUs (ramping-vus) or iterations per second (ramping-arrival-rate)


@dataclass(frozen=True)
class ConstantVUs:
    vus: int
    duration: float
    name: str = "constant-vus"


@dataclass(frozen=True)
class RampingVUs:
    start_vus: int
    stages: tuple[Stage, ...]
    name: str = "ramping-vus"


@dataclass(frozen=True)
class ConstantArrivalRate:
    rate: float  # iterations per second
    duration: float
    pre_allocated_vus: int
    max_vus: int
    name: str = "constant-arrival-rate"


@dataclass(frozen=True)
class RampingArrivalRate:
    start_rate: float
    stages: tuple[Stage, ...]
    pre_allocated_vus: int
    max_vus: int
    name: str = "ramping-arrival-rate"


@dataclass(frozen=True)
class SharedIterations:
    vus: int
    iterations: int
    max_duration: float
    name: str = "shared-iterations"


@dataclass(frozen=True)
class PerVUIterations:
    vus: int
    iterations: int
    max_duration: float
    name: str = "per-vu-iterations"


ExecutorConfig = (
    ConstantVUs | RampingVUs | ConstantArrivalRate | RampingArrivalRate | SharedIterations | PerVUIterations
)
EXECUTORS = (
    "constant-vus",
    "ramping-vus",
    "constant-arrival-rate",
    "ramping-arrival-rate",
    "shared-iterations",
    "per-vu-iterations",
)


def validate(config: ExecutorConfig) -> list[str]:
    """Every problem at once, each naming the field."""
    problems: list[str] = []
    if isinstance(config, ConstantVUs | SharedIterations | PerVUIterations) and config.vus < 1:
        problems.append("vus must be at least 1")
    if isinstance(config, ConstantVUs) and config.duration <= 0:
        problems.append("duration must be positive")
    if isinstance(config, SharedIterations | PerVUIterations):
        if config.iterations < 1:
            problems.append("iterations must be at least 1")
        if config.max_duration <= 0:
            problems.append("max duration must be positive")
    if isinstance(config, ConstantArrivalRate):
        if config.rate <= 0:
            problems.append("rate must be positive")
        if config.duration <= 0:
            problems.append("duration must be positive")
    if isinstance(config, ConstantArrivalRate | RampingArrivalRate):
        if config.pre_allocated_vus < 1:
            problems.append("pre-allocated VUs must be at least 1")
        if config.max_vus < config.pre_allocated_vus:
            problems.append("max VUs must be at least the pre-allocated VUs")
    return problems + _validate_stages(config)


def _validate_stages(config: ExecutorConfig) -> list[str]:
    problems: list[str] = []
    stages: Sequence[Stage] = ()
    if isinstance(config, RampingVUs | RampingArrivalRate):
        stages = config.stages
        if not stages:
            problems.append("give at least one stage")
        start = config.start_vus if isinstance(config, RampingVUs) else config.start_rate
        if start < 0:
            problems.append("the start value cannot be negative")
    for index, stage in enumerate(stages):
        if stage.duration < 0 or stage.target < 0:
            problems.append(f"stage {index + 1}: duration and target cannot be negative")
    return problems


def total_duration(config: ExecutorConfig) -> float:
    if isinstance(config, ConstantVUs | ConstantArrivalRate):
        return config.duration
    if isinstance(config, RampingVUs | RampingArrivalRate):
        return sum(stage.duration for stage in config.stages)
    return config.max_duration


def max_vus(config: ExecutorConfig) -> int:
    if isinstance(config, ConstantArrivalRate | RampingArrivalRate):
        return config.max_vus
    if isinstance(config, RampingVUs):
        return int(max([config.start_vus, *(s.target for s in config.stages)]))
    return config.vus


def vus_at(start_vus: int, stages: Sequence[Stage], t: float) -> int:
    """VUs wanted at time t of a ramping-vus run (linear between stage targets, rounded down)."""
    begin = 0.0
    previous = float(start_vus)
    for stage in stages:
        end = begin + stage.duration
        if t < end:
            fraction = (t - begin) / stage.duration if stage.duration > 0 else 1.0
            return math.floor(previous + (stage.target - previous) * fraction + 1e-9)
        begin, previous = end, stage.target
    return int(previous)


def arrival_offsets(start_rate: float, stages: Sequence[Stage]) -> Iterator[float]:
    """Start offsets (s) of iterations for a piecewise-linear rate (iterations/s): iteration i starts when the
    area under the rate curve reaches i. Constant rate r over D seconds gives 0, 1/r, 2/r, … (r·D iterations)."""
    t0 = 0.0
    c0 = 0.0
    r0 = start_rate
    i = 0
    for stage in stages:
        r1, span = stage.target, stage.duration
        area = (r0 + r1) / 2.0 * span
        slope = (r1 - r0) / span if span > 0 else 0.0
        while span > 0 and i < c0 + area - 1e-9:
            k = i - c0
            if abs(slope) < 1e-12:
                t = k / r0
            else:
                t = (-r0 + math.sqrt(max(0.0, r0 * r0 + 2.0 * slope * k))) / slope
            yield t0 + min(t, span)
            i += 1
        t0 += span
        c0 += area
        r0 = r1


def split_iterations(total: int, vus: int) -> list[int]:
    """How shared-iterations would split evenly (used for the plan; at run time VUs take them greedily)."""
    base, extra = divmod(total, vus)
    return [base + (1 if index < extra else 0) for index in range(vus)]


def describe(config: ExecutorConfig) -> str:
    """One line, like k6's execution plan."""
    if isinstance(config, ConstantVUs):
        return f"{config.name}: {config.vus} looping VUs for {format_duration(config.duration)}"
    if isinstance(config, RampingVUs):
        return (
            f"{config.name}: up to {max_vus(config)} looping VUs for {format_duration(total_duration(config))} "
            f"over {len(config.stages)} stages"
        )
    if isinstance(config, ConstantArrivalRate):
        return (
            f"{config.name}: {config.rate:g} iterations/s for {format_duration(config.duration)} "
            f"(pre-allocated VUs {config.pre_allocated_vus}, max VUs {config.max_vus})"
        )
    if isinstance(config, RampingArrivalRate):
        peak = max([config.start_rate, *(s.target for s in config.stages)])
        return (
            f"{config.name}: up to {peak:g} iterations/s for {format_duration(total_duration(config))} over "
            f"{len(config.stages)} stages (pre-allocated VUs {config.pre_allocated_vus}, max VUs {config.max_vus})"
        )
    if isinstance(config, SharedIterations):
        return (
            f"{config.name}: {config.iterations} iterations shared among {config.vus} VUs "
            f"(max duration {format_duration(config.max_duration)})"
        )
    return (
        f"{config.name}: {config.iterations} iterations for each of {config.vus} VUs "
        f"(max duration {format_duration(config.max_duration)})"
    )


@dataclass(frozen=True)
class Segment:
    """Worker `index`'s part of a plan run by `count` workers (k6's execution segments, for equal parts), striped so
    that the parts add up to exactly the whole plan:

    - VUs: the whole plan's VU number i (1, 2, …) belongs to worker (i - 1) mod count, and keeps its number there
      (`first_vu`, `vu_step`), so VU-keyed choices (its User class, its first task, its feeder row) are the same
      as in one process; a worker runs `share(n)` of n VUs, at every moment of a ramp.
    - open-model iterations: iteration i of the schedule (starting at `start + offset_i`) is worker
      i mod count's (`owns`): the workers' schedules interleave into the single one, the rates add up to the rate.
    - iteration budgets: shared by each worker's VUs, in proportion to them (`iterations`).
    """

    index: int = 0
    count: int = 1

    def share(self, n: int) -> int:
        """How many of n striped items (VUs) are this worker's."""
        return max(0, (n - self.index + self.count - 1) // self.count)

    def owns(self, i: int) -> bool:
        return i % self.count == self.index

    @property
    def first_vu(self) -> int:
        return self.index + 1

    @property
    def vu_step(self) -> int:
        return self.count

    def iterations(self, total: int, vus: int) -> int:
        """This worker's part of a shared budget of `total` iterations among `vus` VUs: proportional to its VUs,
        rounded so that the parts add up to `total`."""
        before = sum(Segment(k, self.count).share(vus) for k in range(self.index))
        mine = self.share(vus)
        return (total * (before + mine)) // vus - (total * before) // vus


def participants(config: ExecutorConfig, workers: int) -> int:
    """How many of `workers` take part in a plan: each one needs a VU of its own (open models: a pre-allocated
    one), so a plan with fewer VUs than workers runs on as many workers as it has VUs."""
    if isinstance(config, ConstantArrivalRate | RampingArrivalRate):
        cap = config.pre_allocated_vus
    else:
        cap = max_vus(config)
    return max(1, min(workers, cap))
