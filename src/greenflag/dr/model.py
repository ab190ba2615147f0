"""What a drill records and reports: timeline events, findings, objectives and the result (pure data).

A drill's timeline is the single source of truth: every step appends an `Event` (seconds since the drill
started on the monotonic clock, and the UTC wall time), and `greenflag.dr.score.score` derives RTO, RPO, the
write ledger comparison and the findings from the timeline alone, so the numbers always agree with it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DrillResult",
    "Event",
    "EventName",
    "Finding",
    "Objectives",
    "Severity",
]

__pure__ = True


class Severity(enum.StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


FAILING = frozenset({Severity.HIGH, Severity.CRITICAL})


class EventName(enum.StrEnum):
    """Timeline events. The ones `score` reads are marked; the others are there for the record."""

    DRILL_STARTED = "drill_started"
    CLUSTER_CREATED = "cluster_created"
    SERVER_STARTED = "server_started"
    PROTECTION_READY = "protection_ready"
    HEARTBEAT_STARTED = "heartbeat_started"
    BACKUP_STARTED = "backup_started"
    BACKUP_FINISHED = "backup_finished"
    BACKUP_VERIFIED = "backup_verified"
    WAL_SWITCHED = "wal_switched"
    FAULT_INJECTED = "fault_injected"  # scored: T0 (RTO start, RPO reference time)
    DATA_LOST = "data_lost"
    HEARTBEAT_STOPPED = "heartbeat_stopped"  # scored: writes acknowledged, rate achieved
    WAL_CHECKED = "wal_checked"  # scored: missing WAL segments
    RESTORE_STARTED = "restore_started"
    RESTORE_FILES = "restore_files"
    RESTORED_SERVER_STARTED = "restored_server_started"
    HEALTHY = "healthy"  # scored: T1, the first successful health query
    DATA_VERIFIED = "data_verified"  # scored: newest recovered heartbeat, ledger comparison, integrity
    STEP_FAILED = "step_failed"  # scored: a step that could not complete
    DRILL_FINISHED = "drill_finished"


@dataclass(frozen=True)
class Event:
    t: float  # seconds since the drill started (monotonic clock)
    at: str  # ISO-8601 UTC wall time, microseconds
    event: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"t": round(self.t, 6), "at": self.at, "event": self.event, "detail": self.detail}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(float(data["t"]), str(data["at"]), str(data["event"]), dict(data.get("detail") or {}))


@dataclass(frozen=True)
class Finding:
    id: str  # stable: "dr.rto.missed", "dr.wal.gap", ...
    severity: Severity
    message: str  # one sentence a user acts on

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "severity": str(self.severity), "message": self.message}


@dataclass(frozen=True)
class Objectives:
    rto_s: float = 900.0
    rpo_s: float = 300.0
    max_writes_lost: int | None = None  # None: not held (asynchronous protection may lose the last writes)

    def to_json(self) -> dict[str, Any]:
        return {"rto_s": self.rto_s, "rpo_s": self.rpo_s, "max_writes_lost": self.max_writes_lost}


@dataclass(frozen=True)
class DrillResult:
    """The scored drill: what `--json` prints and what the drill record file holds."""

    kind: str  # "postgres" | "sqlite"
    ok: bool
    rto_s: float | None
    rpo_s: float | None
    writes_acknowledged: int
    writes_recovered: int
    writes_lost: int
    objectives: Objectives
    started_at: str
    finished_at: str
    timeline: tuple[Event, ...]
    findings: tuple[Finding, ...]
    protection: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # measurements beside the contract's keys

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": "greenflag",
            "kind": self.kind,
            "ok": self.ok,
            "rto_s": _round(self.rto_s),
            "rpo_s": _round(self.rpo_s),
            "writes_acknowledged": self.writes_acknowledged,
            "writes_recovered": self.writes_recovered,
            "writes_lost": self.writes_lost,
            "objectives": self.objectives.to_json(),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "protection": self.protection,
            **self.extra,
            "findings": [finding.to_json() for finding in self.findings],
            "timeline": [event.to_json() for event in self.timeline],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
