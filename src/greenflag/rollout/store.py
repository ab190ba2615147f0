"""The SQLite journal (`.greenflag/state.db`, WAL): rollout statuses, hook runs, commands, instances, and the
platforms' records (slot assignments, deploys and launches in progress).

Every write is one transaction, so a process killed at any point leaves the last committed state. A hook is
journaled `started` *before* it runs and `finished` after; a hook found started-but-unfinished by a new
controller is marked `interrupted` and never re-run (docs/rollouts.md, "Crash safety").
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenflag.errors import UsageError
from greenflag.platform.base import InstanceRecord
from greenflag.rollout.model import HookOutcome, HookState, Status

__all__ = ["HookRun", "Store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rollouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, version TEXT NOT NULL,
    created REAL NOT NULL, done INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hooks (
    rollout INTEGER NOT NULL, key TEXT NOT NULL, command TEXT NOT NULL, started REAL NOT NULL,
    finished REAL, outcome TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', output TEXT NOT NULL DEFAULT '',
    pid INTEGER, PRIMARY KEY (rollout, key));
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rollout INTEGER NOT NULL, kind TEXT NOT NULL, created REAL NOT NULL,
    consumed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY, service TEXT NOT NULL, version TEXT NOT NULL, url TEXT NOT NULL, pid INTEGER NOT NULL,
    port INTEGER NOT NULL, started REAL NOT NULL);
CREATE TABLE IF NOT EXISTS platform_records (
    service TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated REAL NOT NULL, PRIMARY KEY (service, key));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rollout_specs (rollout INTEGER PRIMARY KEY, spec TEXT NOT NULL);
"""
SCHEMA_VERSION = "1"
MAX_OUTPUT = 64 * 1024


@dataclass(frozen=True)
class HookRun:
    key: str
    command: str
    started: float
    finished: float | None
    outcome: HookOutcome
    detail: str
    output: str
    pid: int | None = None


class Store:
    """The journal. Cheap synchronous SQLite calls (milliseconds), safe to share between processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)  # idempotent; executescript commits on its own
        with self._tx():
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise UsageError(f"{self.path}: journal schema {row[0]} is not supported (expected {SCHEMA_VERSION})")

    @classmethod
    def for_state_dir(cls, state_dir: str | Path) -> Store:
        return cls(Path(state_dir) / "state.db")

    def close(self) -> None:
        self._db.close()

    def _tx(self) -> _Tx:
        return _Tx(self._db)

    # -- rollouts -------------------------------------------------------------------------------------------
    def latest(self, service: str) -> Status | None:
        row = self._db.execute(
            "SELECT status FROM rollouts WHERE service=? ORDER BY id DESC LIMIT 1", (service,)
        ).fetchone()
        return None if row is None else Status.from_json(json.loads(row[0]))

    def load(self, rollout_id: int) -> Status | None:
        row = self._db.execute("SELECT status FROM rollouts WHERE id=?", (rollout_id,)).fetchone()
        return None if row is None else Status.from_json(json.loads(row[0]))

    def history(self, service: str, limit: int = 50) -> list[Status]:
        rows = self._db.execute(
            "SELECT status FROM rollouts WHERE service=? ORDER BY id DESC LIMIT ?", (service, limit)
        ).fetchall()
        return [Status.from_json(json.loads(r[0])) for r in rows]

    def stable_version(self, service: str) -> str | None:
        """The version serving now: the last rollout's stable (promoted or kept by a rollback)."""
        latest = self.latest(service)
        return None if latest is None else latest.stable

    def create(self, service: str, version: str, make: Any, spec: dict[str, Any] | None = None) -> Status:
        """Create the next rollout atomically. Refuses if one is in flight. `make(rollout_id, latest)` returns the new
        status, or (new status, the latest one updated) — written in the same transaction, e.g. a promoted rollout
        still scaling down that hands its old version to the new one. `spec` (the spec as JSON) is journaled."""
        with self._tx():
            latest = self.latest(service)
            if latest is not None and not latest.terminal:
                raise UsageError(
                    f"a rollout of {service} to {latest.version} is in progress (phase {latest.phase}, stage "
                    f"{latest.stage}); wait for it, or run `greenflag rollout abort` first"
                )
            cur = self._db.execute(
                "INSERT INTO rollouts (service, version, created, status) VALUES (?, ?, ?, '{}')",
                (service, version, time.time()),
            )
            rollout_id = int(cur.lastrowid or 0)
            made = make(rollout_id, latest)
            status: Status
            previous: Status | None
            status, previous = made if isinstance(made, tuple) else (made, None)
            self._write(status)
            if previous is not None:
                self._write(previous)
            if spec is not None:
                self._db.execute("INSERT INTO rollout_specs VALUES (?, ?)", (rollout_id, json.dumps(spec)))
        return status

    def rollout_spec(self, rollout_id: int) -> dict[str, Any] | None:
        """The spec a rollout was started with (as JSON), when it was journaled."""
        row = self._db.execute("SELECT spec FROM rollout_specs WHERE rollout=?", (rollout_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save(self, status: Status, consumed_commands: list[int] | None = None) -> None:
        """Atomically journal the status (and mark the commands it acted on as consumed)."""
        with self._tx():
            self._write(status)
            for command_id in consumed_commands or []:
                self._db.execute("UPDATE commands SET consumed=1 WHERE id=?", (command_id,))

    def _write(self, status: Status) -> None:
        self._db.execute(
            "UPDATE rollouts SET status=?, done=? WHERE id=?",
            (json.dumps(status.to_json()), int(status.done), status.rollout_id),
        )

    # -- commands -------------------------------------------------------------------------------------------
    def post_command(self, rollout_id: int, kind: str) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO commands (rollout, kind, created) VALUES (?, ?, ?)", (rollout_id, kind, time.time())
            )

    def pending_commands(self, rollout_id: int) -> list[tuple[int, str]]:
        rows = self._db.execute(
            "SELECT id, kind FROM commands WHERE rollout=? AND consumed=0 ORDER BY id", (rollout_id,)
        ).fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    # -- hooks ----------------------------------------------------------------------------------------------
    def hook_started(self, rollout_id: int, key: str, command: str) -> bool:
        """Journal a hook as started. False if it was ever started before (then it must not run again)."""
        with self._tx():
            cur = self._db.execute(
                "INSERT OR IGNORE INTO hooks (rollout, key, command, started, outcome) VALUES (?, ?, ?, ?, ?)",
                (rollout_id, key, command, time.time(), str(HookOutcome.STARTED)),
            )
            return cur.rowcount == 1

    def hook_pid(self, rollout_id: int, key: str, pid: int) -> None:
        with self._tx():
            self._db.execute("UPDATE hooks SET pid=? WHERE rollout=? AND key=?", (pid, rollout_id, key))

    def hook_finished(self, rollout_id: int, key: str, outcome: HookOutcome, detail: str, output: str = "") -> None:
        with self._tx():
            self._db.execute(
                "UPDATE hooks SET finished=?, outcome=?, detail=?, output=? WHERE rollout=? AND key=?",
                (time.time(), str(outcome), detail, output[-MAX_OUTPUT:], rollout_id, key),
            )

    def hook_runs(self, rollout_id: int) -> list[HookRun]:
        rows = self._db.execute(
            "SELECT key, command, started, finished, outcome, detail, output, pid FROM hooks WHERE rollout=? "
            "ORDER BY started",
            (rollout_id,),
        ).fetchall()
        return [HookRun(r[0], r[1], r[2], r[3], HookOutcome(r[4]), r[5], r[6], r[7]) for r in rows]

    def hook_states(self, rollout_id: int) -> dict[str, HookState]:
        return {run.key: HookState(run.outcome, run.detail) for run in self.hook_runs(rollout_id)}

    # -- instances (process platform) -----------------------------------------------------------------------
    def put_instance(self, record: InstanceRecord) -> None:
        with self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO instances VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.id, record.service, record.version, record.url, record.pid, record.port, record.started),
            )

    def drop_instance(self, instance_id: str) -> None:
        with self._tx():
            self._db.execute("DELETE FROM instances WHERE id=?", (instance_id,))

    # -- platform records (slots, command, …: platform/base.py RecordJournal) ----------------------------------
    def platform_records(self, service: str) -> dict[str, dict[str, Any]]:
        rows = self._db.execute("SELECT key, value FROM platform_records WHERE service=? ORDER BY key", (service,))
        return {key: json.loads(value) for key, value in rows.fetchall()}

    def put_platform_record(self, service: str, key: str, value: dict[str, Any]) -> None:
        with self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO platform_records VALUES (?, ?, ?, ?)",
                (service, key, json.dumps(value, sort_keys=True), time.time()),
            )

    def drop_platform_record(self, service: str, key: str) -> None:
        with self._tx():
            self._db.execute("DELETE FROM platform_records WHERE service=? AND key=?", (service, key))

    def instance_records(self, service: str) -> list[InstanceRecord]:
        rows = self._db.execute("SELECT * FROM instances WHERE service=? ORDER BY id", (service,)).fetchall()
        return [InstanceRecord(*r) for r in rows]


class _Tx:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error); re-entrant within one connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.outer = False

    def __enter__(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self.outer = True

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
