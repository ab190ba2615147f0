"""drill.yaml → validated models. Unknown keys are errors; every error names the file, line and key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from greenflag.config import format_key_path, load_yaml, parse_model
from greenflag.dr.model import Objectives
from greenflag.errors import ConfigError
from greenflag.spec import Duration

__all__ = ["DrillSpec", "load_drill_spec", "objectives_of"]

Kind = Literal["postgres", "sqlite"]
METHODS: dict[str, tuple[str, ...]] = {"postgres": ("stream", "archive", "pgbackrest"), "sqlite": ("backup", "wal")}
INTERVALS = {"backup": 1.0, "wal": 0.1}  # sqlite: the default protection.interval of each method


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObjectivesSpec(Model):
    rto: Duration = 900.0
    rpo: Duration = 300.0
    max_writes_lost: int | None = Field(None, ge=0)


class HeartbeatSpec(Model):
    rate: float = Field(100.0, gt=0, le=5000)  # committed inserts per second
    duration: Duration = Field(10.0, ge=0)  # load after the base backup, before the fault


class ProtectionSpec(Model):
    method: str | None = None  # postgres: stream (default) | archive | pgbackrest; sqlite: backup (default) | wal
    synchronous: bool = True  # stream: commits wait for pg_receivewal's flush
    archive_timeout: Duration = Field(60.0, gt=0)  # archive, pgbackrest: force a WAL segment switch this often
    interval: Duration | None = Field(None, gt=0)  # sqlite: a backup (1s) or a WAL shipment (100ms) every interval


class FaultSpec(Model):
    remove_wal_segment: bool = False  # sabotage: delete one archived WAL segment (sqlite wal: log) before restoring


class PostgresSpec(Model):
    dsn: str | None = None
    bin_dir: str | None = None
    os_user: str = "postgres"
    wal_segment_size_mb: int = 16
    pgbench_scale: int = Field(0, ge=0, le=10000)
    verify_backup: bool = True

    @field_validator("wal_segment_size_mb")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value < 1 or value > 1024 or value & (value - 1):
            raise ValueError("expected a power of two from 1 to 1024")
        return value


class SqliteSpec(Model):
    db: str | None = None


class TimeoutsSpec(Model):
    step: Duration = Field(600.0, gt=0)  # each setup step: initdb, base backup, ...
    restore: Duration = Field(1800.0, gt=0)  # fault → healthy, then the drill gives up


class DrillSpec(Model):
    kind: Kind | None = None
    objectives: ObjectivesSpec = Field(default_factory=ObjectivesSpec)
    heartbeat: HeartbeatSpec = Field(default_factory=HeartbeatSpec)
    protection: ProtectionSpec = Field(default_factory=ProtectionSpec)
    fault: FaultSpec = Field(default_factory=FaultSpec)
    postgres: PostgresSpec = Field(default_factory=PostgresSpec)
    sqlite: SqliteSpec = Field(default_factory=SqliteSpec)
    timeouts: TimeoutsSpec = Field(default_factory=TimeoutsSpec)
    workdir: str | None = None
    records: str = ".greenflag/drills"

    def method(self, kind: str) -> str:
        return self.protection.method or METHODS[kind][0]

    def interval(self) -> float:
        """sqlite: seconds between online backups (method backup) or WAL shipments (method wal)."""
        return self.protection.interval or INTERVALS[self.method("sqlite")]


def objectives_of(spec: DrillSpec, kind: str) -> Objectives:
    """The objectives: from the file, and zero lost writes by default under synchronous WAL streaming."""
    lost = spec.objectives.max_writes_lost
    if lost is None and kind == "postgres" and spec.method(kind) == "stream" and spec.protection.synchronous:
        lost = 0
    return Objectives(spec.objectives.rto, spec.objectives.rpo, lost)


def _check(spec: DrillSpec, kind: str, source: str, lines: dict[Any, int]) -> None:
    def fail(path: tuple[str, ...], message: str) -> None:
        probe = path
        while probe and probe not in lines:
            probe = probe[:-1]
        line = lines.get(probe)
        where = f"{source}:{line}" if line else source
        raise ConfigError(f"{where}: {format_key_path(path)}: {message}")

    if spec.kind is not None and spec.kind != kind:
        fail(("kind",), f"this file describes a {spec.kind} drill, not a {kind} drill")
    method = spec.protection.method
    if method is not None and method not in METHODS[kind]:
        fail(
            ("protection", "method"),
            f"{method!r} is not a {kind} protection; expected one of " + ", ".join(METHODS[kind]),
        )
    if spec.fault.remove_wal_segment and kind == "sqlite" and spec.method(kind) != "wal":
        fail(("fault", "remove_wal_segment"), "only an SQLite drill with protection.method: wal has a log to remove")


def load_drill_spec(path: str | Path | None, kind: str, overrides: dict[str, Any] | None = None) -> DrillSpec:
    """Load drill.yaml (or the defaults when `path` is None), apply command-line overrides, validate for `kind`.

    `overrides` maps dotted keys ("objectives.rto", "postgres.dsn") to values already given on the command line.
    """
    data: Any = {}
    lines: dict[Any, int] = {}
    source = "drill options"
    if path is not None:
        data, lines = load_yaml(Path(path))
        source = str(path)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping with keys such as objectives, protection, heartbeat")
    for dotted, value in (overrides or {}).items():
        node: Any = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {}) if isinstance(node, dict) else None
        if isinstance(node, dict):  # else the file's own value is wrong, and validation says so
            node[leaf] = value
    spec = parse_model(DrillSpec, data, source, lines)
    _check(spec, kind, source, lines)
    return spec
