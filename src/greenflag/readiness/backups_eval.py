"""Judge backups and restore drills (pure): the newest backup is younger than the RPO objective, and a restore
drill finished recently enough and met its objectives.

Drill records are the JSON files `greenflag drill` writes, one per drill, named `<kind>-<UTC timestamp>.json`:
`{"kind": "postgres", "ok": true, "finished_at": "2026-05-01T10:00:00Z", "rto_s": 41.2, "rpo_s": 1.0,
"writes_lost": 0, "objectives": {"rto_s": 900, "rpo_s": 300}}`. The newest record (by `finished_at`) counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from greenflag.readiness.base import CheckResult, Finding, Severity, Status
from greenflag.units import format_duration

__all__ = ["BackupFacts", "DrillRecord", "evaluate_backups", "parse_drill", "parse_timestamp"]

__pure__ = True


def parse_timestamp(text: str) -> datetime:
    """ISO-8601 ('2026-05-01T10:00:00Z', with or without offset; naive means UTC) or Unix epoch seconds."""
    value = text.strip()
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        pass
    stamp = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DrillRecord:
    source: str  # file name
    kind: str
    ok: bool
    finished_at: datetime
    data: dict[str, Any]


def parse_drill(source: str, data: Any) -> DrillRecord:
    """One drill record; ValueError says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    for key, kind in (("kind", str), ("ok", bool), ("finished_at", str)):
        if not isinstance(data.get(key), kind):
            raise ValueError(f"{key}: expected a {kind.__name__}")
    return DrillRecord(source, data["kind"], data["ok"], parse_timestamp(data["finished_at"]), data)


@dataclass(frozen=True)
class BackupFacts:
    label: str
    newest_backup: datetime | None = None  # None: no backup found
    newest_source: str = ""  # the file, or the command
    backup_error: str | None = None  # the backup time could not be read
    drills: tuple[DrillRecord, ...] = ()
    bad_records: tuple[str, ...] = ()  # "file: why"
    backups_checked: bool = True
    drills_checked: bool = False


def _age(now: datetime, then: datetime) -> str:
    return format_duration(max(0.0, (now - then).total_seconds()))


def _drill_findings(facts: BackupFacts, now: datetime, kind: str | None, max_age: float) -> list[Finding]:
    records = [r for r in facts.drills if kind is None or r.kind == kind]
    what = f"{kind} restore drill" if kind else "restore drill"
    if not records:
        return [Finding("backups.no_drill", Severity.HIGH, f"No {what} is recorded: run `greenflag drill`.")]
    last = max(records, key=lambda r: r.finished_at)
    findings = []
    if (now - last.finished_at).total_seconds() > max_age:
        findings.append(
            Finding(
                "backups.drill_stale",
                Severity.HIGH,
                f"The last {what} finished {_age(now, last.finished_at)} ago ({last.source}); one is due every "
                f"{format_duration(max_age)}.",
            )
        )
    if not last.ok:
        measured = {k: last.data.get(k) for k in ("rto_s", "rpo_s", "writes_lost") if k in last.data}
        findings.append(
            Finding(
                "backups.drill_failed",
                Severity.HIGH,
                f"The last {what} ({last.source}) missed its objectives: measured {measured}, objectives "
                f"{last.data.get('objectives', {})}.",
            )
        )
    return findings


def evaluate_backups(
    facts: BackupFacts,
    now: datetime,
    *,
    max_age: float | None,
    drill_kind: str | None = None,
    drill_max_age: float | None = None,
) -> CheckResult:
    """FAIL when the newest backup is older than max_age (the RPO objective), there is none, or the last drill is
    missing, stale or failed; ERROR when the backup time could not be read at all."""
    findings: list[Finding] = []
    evidence: dict[str, Any] = {}
    if facts.backups_checked:
        if facts.backup_error is not None:
            finding = Finding("backups.unreadable", Severity.HIGH, facts.backup_error)
            return CheckResult("backups", facts.label, Status.ERROR, (finding,))
        if facts.newest_backup is None:
            findings.append(Finding("backups.none", Severity.HIGH, f"No backup found in {facts.newest_source}."))
        else:
            age = (now - facts.newest_backup).total_seconds()
            evidence.update(
                newest_backup=facts.newest_backup.isoformat(),
                newest_source=facts.newest_source,
                age_s=round(age, 1),
                max_age_s=max_age,
            )
            if max_age is not None and age > max_age:
                findings.append(
                    Finding(
                        "backups.too_old",
                        Severity.HIGH,
                        f"The newest backup ({facts.newest_source}) is {_age(now, facts.newest_backup)} old, older "
                        f"than the RPO objective of {format_duration(max_age)}.",
                        {"age_s": round(age, 1)},
                    )
                )
    if facts.drills_checked and drill_max_age is not None:
        findings.extend(_drill_findings(facts, now, drill_kind, drill_max_age))
        if facts.drills:
            last = max(facts.drills, key=lambda r: r.finished_at)
            evidence["last_drill"] = {
                "source": last.source,
                "kind": last.kind,
                "ok": last.ok,
                "finished_at": last.finished_at.isoformat(),
            }
    for bad in facts.bad_records:
        findings.append(Finding("backups.bad_drill_record", Severity.LOW, f"Ignored drill record {bad}."))
    status = (
        Status.FAIL if any(f.severity is Severity.HIGH for f in findings) else Status.WARN if findings else Status.PASS
    )
    return CheckResult("backups", facts.label, status, tuple(findings), evidence=evidence)
