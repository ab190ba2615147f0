"""Reading what a report is made of: the summary JSON, time-series JSONL files, a rollout status (JSON file or the
journal), weight samples. Every problem is a UsageError naming the file (and line), so the CLI exits 2."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from greenflag.errors import UsageError
from greenflag.load.metrics.intervals import merge_lines, read_lines

__all__ = ["read_journal", "read_series", "read_status", "read_summary", "write_text"]


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{what} {path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path}: not UTF-8 text") from None


def _json(path: Path, what: str) -> Any:
    try:
        return json.loads(_read(path, what))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} {path}:{exc.lineno}: not JSON ({exc.msg})") from None


def read_summary(path: Path) -> dict[str, Any]:
    data = _json(path, "summary")
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise UsageError(f"summary {path}: not a greenflag load summary (no 'metrics'); write one with --summary-json")
    return data


def read_series(paths: list[Path]) -> list[dict[str, Any]]:
    """One or more JSONL series (several generators' files merge exactly, interval by interval)."""
    parts = []
    for path in paths:
        try:
            parts.append(read_lines(_read(path, "series"), str(path)))
        except ValueError as exc:
            raise UsageError(f"series {exc}") from None
    try:
        return merge_lines(*parts)
    except ValueError as exc:
        raise UsageError(f"series: {exc}") from None


def read_status(path: Path) -> dict[str, Any]:
    """A rollout status: `rollout status --json` output (or one element of `rollout history --json`)."""
    data = _json(path, "rollout status")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if not isinstance(data, dict) or "phase" not in data or "events" not in data:
        raise UsageError(f"rollout status {path}: not a rollout status (`greenflag rollout status --json` writes one)")
    return data


def read_journal(path: Path, *, service: str | None = None, rollout_id: int | None = None) -> dict[str, Any]:
    """A rollout from the journal (`.greenflag/state.db`), read-only: the given id, else the newest rollout (of
    `service` when given)."""
    if not path.is_file():
        raise UsageError(f"journal {path}: no such file (the rollout journal is STATE_DIR/state.db)")
    try:
        db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            if rollout_id is not None:
                row = db.execute("SELECT status FROM rollouts WHERE id=?", (rollout_id,)).fetchone()
            elif service is not None:
                row = db.execute(
                    "SELECT status FROM rollouts WHERE service=? ORDER BY id DESC LIMIT 1", (service,)
                ).fetchone()
            else:
                row = db.execute("SELECT status FROM rollouts ORDER BY id DESC LIMIT 1").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"journal {path}: not a greenflag journal ({exc})") from None
    if row is None:
        which = f"rollout {rollout_id}" if rollout_id is not None else f"rollout of {service}" if service else "rollout"
        raise UsageError(f"journal {path}: no {which} in it")
    data: dict[str, Any] = json.loads(row[0])
    data.setdefault("canary", None)
    return data


def write_text(path: Path, text: str, what: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise UsageError(f"{what} {path}: cannot write: {exc.strerror or exc}") from None
