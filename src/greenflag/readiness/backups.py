"""`check_backups(...)`: how old the newest backup is (a directory's newest file, or a command that prints its
time) and when a restore drill last succeeded (the drill records in a directory)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from greenflag.readiness.backups_eval import BackupFacts, DrillRecord, evaluate_backups, parse_drill, parse_timestamp
from greenflag.readiness.base import CheckResult
from greenflag.readiness.probes import run_command

__all__ = ["check_backups", "newest_file", "read_drills"]


def newest_file(directory: Path, pattern: str) -> tuple[datetime | None, str]:
    """The newest regular file matching pattern (by modification time); (None, directory) when there is none."""
    if not directory.is_dir():
        raise FileNotFoundError(f"backup directory {directory} does not exist")
    files = [p for p in directory.glob(pattern) if p.is_file()]
    if not files:
        return None, f"{directory} ({pattern})"
    newest = max(files, key=lambda p: p.stat().st_mtime)
    return datetime.fromtimestamp(newest.stat().st_mtime, UTC), str(newest)


async def _command_time(command: Sequence[str], timeout: float) -> datetime:
    code, out, err = await run_command(command, timeout)
    if code is None:
        raise ValueError(f"backup command {command[0]} did not finish within {timeout:g} s")
    if code != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise ValueError(f"backup command {command[0]} exited {code}: {tail[0][:200]}")
    lines = [line for line in out.decode(errors="replace").splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"backup command {command[0]} printed nothing (expected a time, ISO-8601 or epoch)")
    try:
        return parse_timestamp(lines[-1])
    except ValueError:
        raise ValueError(
            f"backup command {command[0]} printed {lines[-1][:80]!r}, not an ISO-8601 time or epoch seconds"
        ) from None


def read_drills(directory: Path, kind: str | None) -> tuple[list[DrillRecord], list[str]]:
    """Drill records `<kind>-<timestamp>.json` in directory (all kinds when kind is None); and the unreadable ones."""
    records: list[DrillRecord] = []
    bad: list[str] = []
    if not directory.is_dir():
        return records, bad
    for path in sorted(directory.glob(f"{kind}-*.json" if kind else "*.json")):
        try:
            records.append(parse_drill(path.name, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as exc:
            bad.append(f"{path.name}: {exc}")
    return records, bad


async def check_backups(
    *,
    label: str,
    directory: str | Path | None = None,
    pattern: str = "*",
    command: Sequence[str] | None = None,
    max_age: float | None = None,
    drills_directory: str | Path | None = None,
    drill_kind: str | None = None,
    drill_max_age: float | None = None,
    timeout: float = 30.0,
    now: datetime | None = None,
) -> CheckResult:
    newest: datetime | None = None
    source, error = "", None
    try:
        if directory is not None:
            newest, source = newest_file(Path(directory), pattern)
        elif command is not None:
            newest, source = await _command_time(command, timeout), " ".join(command)
    except (OSError, ValueError) as exc:
        error = str(exc)
    drills: list[DrillRecord] = []
    bad: list[str] = []
    if drills_directory is not None:
        drills, bad = read_drills(Path(drills_directory), drill_kind)
    facts = BackupFacts(
        label,
        newest,
        source,
        error,
        tuple(drills),
        tuple(bad),
        backups_checked=directory is not None or command is not None,
        drills_checked=drills_directory is not None,
    )
    return evaluate_backups(
        facts, now or datetime.now(UTC), max_age=max_age, drill_kind=drill_kind, drill_max_age=drill_max_age
    )
