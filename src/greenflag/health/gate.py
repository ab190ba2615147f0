"""Liveness/readiness gates with Kubernetes semantics, as data (pure).

The first probe runs `initial_delay` after start, then every `interval`. A gate starts Pending; it passes after
`success_threshold` consecutive successes and fails after `failure_threshold` consecutive failures; in between
it keeps its state (a passing gate tolerates fewer failures than the threshold, and vice versa).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from greenflag.health.base import ProbeResult
from greenflag.spec import ProbeSpec

__all__ = ["Gate", "GateStatus"]
__pure__ = True


class GateStatus(enum.StrEnum):
    PENDING = "Pending"
    PASSING = "Passing"
    FAILING = "Failing"


@dataclass(frozen=True)
class Gate:
    started_at: float
    initial_delay: float = 0.0
    interval: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3
    status: GateStatus = GateStatus.PENDING
    successes: int = 0  # consecutive
    failures: int = 0  # consecutive
    checks: int = 0
    last: ProbeResult | None = None
    last_at: float | None = None
    changed_at: float | None = None

    @classmethod
    def from_spec(cls, spec: ProbeSpec, started_at: float) -> Gate:
        return cls(
            started_at=started_at,
            initial_delay=spec.initial_delay,
            interval=spec.interval,
            success_threshold=spec.success_threshold,
            failure_threshold=spec.failure_threshold,
        )

    @property
    def passing(self) -> bool:
        return self.status is GateStatus.PASSING

    @property
    def failing(self) -> bool:
        return self.status is GateStatus.FAILING

    def next_due(self) -> float:
        if self.last_at is None:
            return self.started_at + self.initial_delay
        return self.last_at + self.interval

    def due(self, now: float) -> bool:
        return now >= self.next_due()

    def observe(self, result: ProbeResult, now: float) -> Gate:
        """The gate after one probe result at `now`."""
        successes = self.successes + 1 if result.ok else 0
        failures = 0 if result.ok else self.failures + 1
        status = self.status
        if successes >= self.success_threshold:
            status = GateStatus.PASSING
        elif failures >= self.failure_threshold:
            status = GateStatus.FAILING
        changed = now if status is not self.status else self.changed_at
        return replace(
            self,
            status=status,
            successes=successes,
            failures=failures,
            checks=self.checks + 1,
            last=result,
            last_at=now,
            changed_at=changed,
        )

    def describe(self) -> str:
        detail = f": {self.last.detail}" if self.last is not None and self.last.detail else ""
        return (
            f"{self.status} after {self.checks} checks ({self.successes} ok / {self.failures} failed in a row)" + detail
        )
