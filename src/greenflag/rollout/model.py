"""The rollout status (what the journal stores) and the data the pure core exchanges with the controller.

Everything here is plain data: JSON (de)serialisable, schema-versioned, no I/O. Times are wall-clock epoch
seconds (floats) so that a status written by one process is meaningful to the next one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from greenflag.analysis.alarms import AlarmPoll
from greenflag.analysis.verdicts import Measurement
from greenflag.platform.base import InstanceExit

__all__ = [
    "SCHEMA_VERSION",
    "CheckOutcome",
    "ChecklistRun",
    "Event",
    "HookOutcome",
    "HookState",
    "Measurement",
    "Observations",
    "Phase",
    "Status",
    "iso",
    "version_weights",
]
__pure__ = True

SCHEMA_VERSION = 1


class Phase(enum.StrEnum):
    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    DEGRADED = "Degraded"
    ROLLED_BACK = "RolledBack"


class HookOutcome(enum.StrEnum):
    STARTED = "started"  # journaled before the command runs
    OK = "ok"
    FAILED = "failed"  # non-zero exit or timeout
    INTERRUPTED = "interrupted"  # started, then the controller died: never re-run (see docs/rollouts.md)
    CANCELLED = "cancelled"  # still running when the rollout rolled back: its process group was stopped


TIME_FIELDS = (
    "created_at",
    "updated_at",
    "stage_started_at",
    "pause_started_at",
    "analysis_started_at",
    "completed_at",
    "router_weights_at",
    "launch_started_at",
)


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    time: float
    kind: str  # started, step, paused, resumed, hook, rollback, rolled_back, promoted, ...
    message: str
    trigger: str | None = None  # metric or probe (or hook, command) that caused a rollback
    value: Any = None
    limit: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"time": iso(self.time), "epoch": self.time, "kind": self.kind, "message": self.message}
        if self.trigger is not None:
            out.update(trigger=self.trigger, value=self.value, limit=self.limit)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(
            time=float(data["epoch"]),
            kind=data["kind"],
            message=data["message"],
            trigger=data.get("trigger"),
            value=data.get("value"),
            limit=data.get("limit"),
        )


@dataclass(frozen=True)
class HookState:
    outcome: HookOutcome
    detail: str = ""  # "exit 1", "timed out after 5s", ...


@dataclass(frozen=True)
class CheckOutcome:
    """One check of the readiness checklist, as the rollout sees it (greenflag.readiness's CheckResult, shortened)."""

    check: str  # tls, dns, waf, headers, monitoring, backups, health, check (a user check)
    target: str  # the host, URL or name (or the item's label)
    status: str  # pass, warn, fail, error, skip
    required: bool
    findings: tuple[str, ...] = ()  # the findings' ids

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "warn", "skip")

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "target": self.target, "status": self.status, "required": self.required,
                "findings": list(self.findings)}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckOutcome:
        findings = tuple(str(f) for f in data.get("findings", ()))
        return cls(str(data["check"]), str(data["target"]), str(data["status"]), bool(data["required"]), findings)


@dataclass(frozen=True)
class ChecklistRun:
    """The readiness checklist of one rollout, as the controller observed it: started (`again` when a controller
    that stopped had started it before, so it runs anew), then ok / failed with every check's outcome."""

    state: HookState
    checks: tuple[CheckOutcome, ...] = ()
    again: bool = False


@dataclass
class Status:
    """One rollout's state. Progress lives here (never in the controller's memory)."""

    rollout_id: int
    service: str
    version: str  # the version being rolled out
    stable: str | None  # the version serving stable traffic (None: initial deployment, nothing yet)
    strategy: str  # "canary" | "blue_green"
    previous: str | None = None  # the stable version before this rollout promoted (for undo)
    phase: Phase = Phase.PROGRESSING
    stage: str = "before_install"  # position in the plan (see steps.plan)
    step: int = 0  # index of the current traffic step (`step` in `rollout status --json`)
    weights: dict[str, int] = field(default_factory=dict)  # what the rollout intends (per version)
    header_route: str | None = None
    router_weights: dict[str, int] | None = None  # read back from the router (per backend), last change
    router_weights_at: float | None = None  # when that read-back was taken
    backends: list[str] = field(default_factory=list)  # versions the router should know
    # versions a previous rollout was still scaling down when this one started: version → when to stop it
    retiring: dict[str, float] = field(default_factory=dict)
    initial: bool = False  # no stable version when it started: launch, health gate, 100 %
    hold: str | None = None  # why progress is held besides a pause step (e.g. an inconclusive analysis)
    aborted: bool = False
    abort_reason: str | None = None
    promote_full: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    stage_started_at: float = 0.0
    launch_started_at: float | None = None  # first launch of the version: start_timeout runs from here
    start_exits: int = 0  # exits of the version's instances before it was ready (platform.max_restarts)
    last_exit: str | None = None  # the last one: instance, exit code, last lines of output
    pause_started_at: float | None = None
    analysis_started_at: float | None = None
    completed_at: float | None = None
    hooks: dict[str, HookState] = field(default_factory=dict)  # hook key → last known state
    # data stages (migrations, the expand/contract guard, cache invalidation): stage → last known state
    data_steps: dict[str, HookState] = field(default_factory=dict)
    # analysis runs ("step:N" for an analysis step, "background"): run → {"started_at": epoch, "metrics":
    # {metric → counts (greenflag.analysis MetricCounts) + "measured" + "last"/"last_bad" measurement dicts}}
    analysis: dict[str, dict[str, Any]] = field(default_factory=dict)
    analysis_run: str | None = None  # the run measuring now (its window starts at its started_at)
    measurements: list[Measurement] = field(default_factory=list)  # most recent only (greenflag.analysis's)
    notified: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    schema: int = SCHEMA_VERSION

    @property
    def canary(self) -> str | None:
        """The version under test while the rollout is in flight."""
        return None if self.terminal else self.version

    @property
    def terminal(self) -> bool:
        """Promoted or rolled back (old instances may still be scaling down: see `done`)."""
        return self.phase in (Phase.HEALTHY, Phase.ROLLED_BACK)

    @property
    def done(self) -> bool:
        """Nothing left to do: terminal and scaled down."""
        return self.stage == "done"

    @property
    def promoted(self) -> bool:
        return self.phase is Phase.HEALTHY and not self.aborted

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["phase"] = str(self.phase)
        data["canary"] = self.canary
        data["hooks"] = {k: {"outcome": str(v.outcome), "detail": v.detail} for k, v in self.hooks.items()}
        data["data_steps"] = {k: {"outcome": str(v.outcome), "detail": v.detail} for k, v in self.data_steps.items()}
        data["measurements"] = [m.to_dict() for m in self.measurements]
        data["events"] = [e.to_json() for e in self.events]
        for key in TIME_FIELDS:
            data[key] = iso(getattr(self, key))
        data["epochs"] = {key: getattr(self, key) for key in TIME_FIELDS}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Status:
        schema = int(data.get("schema", 0))
        if schema != SCHEMA_VERSION:
            raise ValueError(f"rollout status schema {schema} is not supported (expected {SCHEMA_VERSION})")
        epochs = data["epochs"]
        return cls(
            rollout_id=int(data["rollout_id"]),
            service=data["service"],
            version=data["version"],
            stable=data["stable"],
            strategy=data["strategy"],
            previous=data.get("previous"),
            phase=Phase(data["phase"]),
            stage=data["stage"],
            step=int(data["step"]),
            weights={str(k): int(v) for k, v in data["weights"].items()},
            header_route=data["header_route"],
            router_weights=_int_map(data.get("router_weights")),
            router_weights_at=epochs.get("router_weights_at"),
            backends=list(data["backends"]),
            retiring={str(k): float(v) for k, v in data.get("retiring", {}).items()},
            initial=bool(data["initial"]),
            hold=data["hold"],
            aborted=bool(data["aborted"]),
            abort_reason=data["abort_reason"],
            promote_full=bool(data["promote_full"]),
            created_at=epochs["created_at"],
            updated_at=epochs["updated_at"],
            stage_started_at=epochs["stage_started_at"],
            launch_started_at=epochs.get("launch_started_at"),
            start_exits=int(data.get("start_exits", 0)),
            last_exit=data.get("last_exit"),
            pause_started_at=epochs["pause_started_at"],
            analysis_started_at=epochs["analysis_started_at"],
            completed_at=epochs["completed_at"],
            hooks={k: HookState(HookOutcome(v["outcome"]), v["detail"]) for k, v in data["hooks"].items()},
            data_steps={
                k: HookState(HookOutcome(v["outcome"]), v["detail"]) for k, v in data.get("data_steps", {}).items()
            },
            analysis={k: v for k, v in data["analysis"].items() if isinstance(v, dict) and "metrics" in v},
            analysis_run=data.get("analysis_run"),
            measurements=[Measurement.from_dict(m) for m in data.get("measurements", []) if "verdict" in m],
            notified=list(data["notified"]),
            events=[Event.from_json(e) for e in data["events"]],
        )


def _int_map(value: Any) -> dict[str, int] | None:
    return None if value is None else {str(k): int(v) for k, v in value.items()}


def version_weights(weights: dict[str, int], versions: list[str]) -> dict[str, int]:
    """Router weights per backend (`v2-0`, `v2-1` for a version's instances) summed per version."""
    out: dict[str, int] = {}
    for name, weight in weights.items():
        base, _, index = name.rpartition("-")
        version = base if name not in versions and base in versions and index.isdigit() else name
        out[version] = out.get(version, 0) + weight
    return out


@dataclass(frozen=True)
class Observations:
    """What the controller saw this tick. The pure core decides from this, the spec, the status and `now`."""

    launched: frozenset[str] = frozenset()  # versions whose instances are running
    ready: dict[str, bool | None] = field(default_factory=dict)  # readiness gate: True passed, False failed
    liveness_failures: dict[str, str] = field(default_factory=dict)  # version → what failed (probe, value)
    measurements: tuple[Measurement, ...] = ()  # new analysis measurements of the version under test
    analysis_run: str | None = None  # the run they belong to (measurements of another run are ignored)
    hooks: dict[str, HookState] = field(default_factory=dict)  # from the journal
    data_steps: dict[str, HookState] = field(default_factory=dict)  # data stages: journal (migrations), controller
    commands: tuple[str, ...] = ()  # promote, promote_full, abort, resume
    exits: tuple[InstanceExit, ...] = ()  # instances found gone since the last tick (not stopped by greenflag)
    router_weights: dict[str, int] | None = None  # read back; None when the router cannot say
    checklist: ChecklistRun | None = None  # the readiness checklist (readiness.required_before: promote)
    alarms: AlarmPoll | None = None  # a fresh poll of analysis.alarms (CloudWatch), when one was due
    drain_s: float = 0.0  # the router's drain time: a version is stopped only this long after it lost its traffic
    open_requests: dict[str, int] | None = None  # scale-down: version → requests open on it; None: cannot count
