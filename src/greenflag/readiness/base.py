"""What every readiness check returns, and the JSON it prints.

A check collects facts (network I/O, in its own module) and evaluates them (a pure function) into a
`CheckResult`: a status, a grade where the check grades (TLS, WAF, headers), and findings, each with a stable
`id`, a `severity` and a `message` that says what is wrong and, where it can, how to fix it. ERROR (the check
could not run: connection refused, timeout) is not FAIL (it ran and the target is not ready).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Check", "CheckResult", "Finding", "Severity", "Status", "worst_status"]

__pure__ = True


class Severity(enum.StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Status(enum.StrEnum):
    PASS = "pass"  # ready
    WARN = "warn"  # ready, with findings worth reading
    FAIL = "fail"  # checked, not ready
    ERROR = "error"  # could not check
    SKIP = "skip"  # not configured / not applicable


_STATUS_ORDER = {Status.SKIP: 0, Status.PASS: 1, Status.WARN: 2, Status.FAIL: 3, Status.ERROR: 4}


def worst_status(statuses: Iterable[Status]) -> Status:
    """The status of a list of results: the worst one (SKIP < PASS < WARN < FAIL < ERROR); PASS when empty."""
    return max(statuses, key=_STATUS_ORDER.__getitem__, default=Status.PASS)


@dataclass(frozen=True)
class Finding:
    id: str  # stable, machine-readable: "tls.protocol.tls1_0_offered"
    severity: Severity
    message: str  # one sentence a user acts on
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "severity": str(self.severity), "message": self.message}
        if self.evidence:
            out["evidence"] = self.evidence
        return out


@dataclass(frozen=True)
class CheckResult:
    name: str  # "tls", "dns", "waf", "headers", "monitoring", "backups", ...
    target: str
    status: Status
    findings: tuple[Finding, ...] = ()
    grade: str | None = None
    score: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)  # what was measured, check-specific
    duration_s: float = 0.0
    required: bool = True  # in a checklist: whether a failure makes the whole checklist fail

    @property
    def ok(self) -> bool:
        return self.status in (Status.PASS, Status.WARN, Status.SKIP)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "check": self.name,
            "target": self.target,
            "ok": self.ok,
            "status": str(self.status),
            "findings": [finding.to_json() for finding in self.findings],
        }
        if self.grade is not None:
            out["grade"] = self.grade
        if self.score is not None:
            out["score"] = self.score
        out["evidence"] = self.evidence
        out["duration_s"] = round(self.duration_s, 3)
        return out


class Check(Protocol):
    """A readiness check: collect facts about `target`, evaluate them, never raise for a target's failure."""

    name: str

    async def run(self, target: str) -> CheckResult: ...
