"""RTO/RPO scoring: a recorded drill timeline + objectives → the result and its findings (pure).

    RTO = t(first successful health query after the fault) − t(fault)        (monotonic seconds)
    RPO = wall time of the fault − commit time of the newest recovered heartbeat   (wall clock, ≥ 0)

Writes are counted from the ledger comparison the drill put in the `data_verified` event: acknowledged
writes (the database said "committed" before the fault) that the restored database does not hold are lost.
A drill passes when it restored, met both objectives, lost no more acknowledged writes than allowed, and no
step or check raised a high or critical finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from greenflag.dr.model import FAILING, DrillResult, Event, EventName, Finding, Objectives, Severity
from greenflag.units import format_duration

__all__ = ["LedgerComparison", "compare_ledger", "score"]

__pure__ = True

MIN_HEARTBEAT_RATE = 50.0  # committed inserts per second a drill's heartbeat must reach to count lost rows finely


@dataclass(frozen=True)
class LedgerComparison:
    acknowledged: int
    recovered: int  # acknowledged writes present after the restore
    lost: int
    lost_first: int | None  # the lowest and highest lost sequence numbers
    lost_last: int | None
    in_doubt: int  # sent but never acknowledged (in flight at the fault)
    in_doubt_recovered: int
    unexpected: int  # rows present that the writer never sent (should be 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "writes_acknowledged": self.acknowledged,
            "writes_recovered": self.recovered,
            "writes_lost": self.lost,
            "lost_first_seq": self.lost_first,
            "lost_last_seq": self.lost_last,
            "writes_in_doubt": self.in_doubt,
            "in_doubt_recovered": self.in_doubt_recovered,
            "unexpected_rows": self.unexpected,
        }


def compare_ledger(acknowledged: Iterable[int], in_doubt: Iterable[int], recovered: Iterable[int]) -> LedgerComparison:
    """Compare the writer's ledger (sequence numbers) with the sequence numbers found after the restore."""
    acked = set(acknowledged)
    doubt = set(in_doubt) - acked
    found = set(recovered)
    lost = sorted(acked - found)
    return LedgerComparison(
        acknowledged=len(acked),
        recovered=len(acked & found),
        lost=len(lost),
        lost_first=lost[0] if lost else None,
        lost_last=lost[-1] if lost else None,
        in_doubt=len(doubt),
        in_doubt_recovered=len(doubt & found),
        unexpected=len(found - acked - doubt),
    )


def _first(timeline: Sequence[Event], name: EventName, after: float | None = None) -> Event | None:
    for event in timeline:
        if event.event == name and (after is None or event.t >= after):
            return event
    return None


def _last(timeline: Sequence[Event], name: EventName) -> Event | None:
    for event in reversed(timeline):
        if event.event == name:
            return event
    return None


def _wall(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _int(detail: dict[str, Any], key: str, default: int = 0) -> int:
    value = detail.get(key)
    return int(value) if isinstance(value, int | float) else default


def _rpo(fault: Event | None, verified: Event | None) -> float | None:
    newest = verified.detail.get("newest_heartbeat_at") if verified is not None else None
    if fault is None or not isinstance(newest, str):
        return None
    return max(0.0, (_wall(fault.at) - _wall(newest)).total_seconds())


def _restore_findings(timeline: Sequence[Event], fault: Event | None, healthy: Event | None) -> list[Finding]:
    out: list[Finding] = []
    for event in timeline:
        if event.event == EventName.STEP_FAILED:
            step, error = event.detail.get("step", "a step"), event.detail.get("error", "failed")
            out.append(Finding("dr.step.failed", Severity.CRITICAL, f"{step} failed: {error}"))
    if fault is None:
        out.append(
            Finding(
                "dr.fault.missing",
                Severity.CRITICAL,
                "the drill stopped before the fault was injected: nothing was measured",
            )
        )
    elif healthy is None:
        out.append(
            Finding(
                "dr.restore.failed",
                Severity.CRITICAL,
                "the restored database never answered its health query: the backup did not restore",
            )
        )
    checked = _last(timeline, EventName.WAL_CHECKED)
    missing = list(checked.detail.get("missing", [])) if checked is not None else []
    if missing:
        where = checked.detail.get("where", "the WAL archive") if checked is not None else ""
        shown = ", ".join(str(name) for name in missing[:3]) + (" …" if len(missing) > 3 else "")
        out.append(
            Finding(
                "dr.wal.gap",
                Severity.CRITICAL,
                f"{len(missing)} WAL segment(s) missing from {where} ({shown}): recovery stops at the "
                "first gap, so every write after it is lost; find out why the archive has a hole",
            )
        )
    return out


def _data_findings(verified: Event | None, healthy: Event | None, rpo_s: float | None) -> list[Finding]:
    out: list[Finding] = []
    if verified is None:
        return out
    for key, fid, what in (
        ("integrity", "dr.integrity.failed", "integrity check"),
        ("fixture", "dr.fixture.mismatch", "fixture data check"),
    ):
        value = str(verified.detail.get(key, "ok"))
        if value.startswith("skipped"):
            out.append(Finding(fid.rsplit(".", 1)[0] + ".skipped", Severity.INFO, f"{what} {value}"))
        elif value != "ok":
            out.append(Finding(fid, Severity.CRITICAL, f"the restored database failed its {what}: {value}"))
    if healthy is not None and rpo_s is None:
        out.append(
            Finding(
                "dr.rpo.unknown",
                Severity.CRITICAL,
                "no heartbeat row survived the restore, so no recovery point can be named",
            )
        )
    unexpected = _int(verified.detail, "unexpected_rows")
    if unexpected:
        out.append(
            Finding(
                "dr.writes.unexpected",
                Severity.HIGH,
                f"{unexpected} heartbeat rows were found that the writer never sent",
            )
        )
    return out


def _objective_findings(
    rto_s: float | None, rpo_s: float | None, lost: int, objectives: Objectives, lost_range: tuple[Any, Any]
) -> list[Finding]:
    out: list[Finding] = []
    if rto_s is not None and rto_s > objectives.rto_s:
        out.append(
            Finding(
                "dr.rto.missed",
                Severity.HIGH,
                f"RTO {format_duration(rto_s)} exceeds the objective {format_duration(objectives.rto_s)}",
            )
        )
    if rpo_s is not None and rpo_s > objectives.rpo_s:
        out.append(
            Finding(
                "dr.rpo.missed",
                Severity.HIGH,
                f"RPO {format_duration(rpo_s)} exceeds the objective {format_duration(objectives.rpo_s)}",
            )
        )
    if lost:
        span = f" (sequence {lost_range[0]}–{lost_range[1]})" if lost_range[0] is not None else ""
        limit = objectives.max_writes_lost
        if limit is not None and lost > limit:
            out.append(
                Finding(
                    "dr.writes.lost",
                    Severity.CRITICAL,
                    f"{lost} acknowledged writes were not recovered{span}; at most {limit} allowed",
                )
            )
        else:
            out.append(
                Finding(
                    "dr.writes.lost",
                    Severity.MEDIUM,
                    f"{lost} acknowledged writes were not recovered{span}, within the RPO",
                )
            )
    return out


def _rate_findings(stopped: Event | None) -> list[Finding]:
    if stopped is None:
        return []
    rate = stopped.detail.get("rate_per_s")
    if isinstance(rate, int | float) and rate < MIN_HEARTBEAT_RATE:
        return [
            Finding(
                "dr.heartbeat.slow",
                Severity.LOW,
                f"the heartbeat committed {rate:.0f} writes/s (< {MIN_HEARTBEAT_RATE:.0f}/s): the RPO is "
                "measured more coarsely than the write rate promises",
            )
        ]
    return []


def score(
    kind: str,
    timeline: Sequence[Event],
    objectives: Objectives,
    *,
    protection: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> DrillResult:
    """Derive the drill's result from its recorded timeline."""
    events = tuple(timeline)
    fault = _first(events, EventName.FAULT_INJECTED)
    healthy = _first(events, EventName.HEALTHY, after=fault.t) if fault is not None else None
    verified = _last(events, EventName.DATA_VERIFIED)
    stopped = _last(events, EventName.HEARTBEAT_STOPPED)
    rto_s = healthy.t - fault.t if fault is not None and healthy is not None else None
    rpo_s = _rpo(fault, verified)
    if verified is not None:
        acknowledged = _int(verified.detail, "writes_acknowledged")
        recovered = _int(verified.detail, "writes_recovered")
        lost_range = (verified.detail.get("lost_first_seq"), verified.detail.get("lost_last_seq"))
    else:
        acknowledged = _int(stopped.detail, "writes_acknowledged") if stopped is not None else 0
        recovered, lost_range = 0, (None, None)
    lost = acknowledged - recovered
    findings = [
        *_restore_findings(events, fault, healthy),
        *_data_findings(verified, healthy, rpo_s),
        *_objective_findings(rto_s, rpo_s, lost if fault is not None else 0, objectives, lost_range),
        *_rate_findings(stopped),
    ]
    ok = fault is not None and healthy is not None and not any(f.severity in FAILING for f in findings)
    return DrillResult(
        kind=kind,
        ok=ok,
        rto_s=rto_s,
        rpo_s=rpo_s,
        writes_acknowledged=acknowledged,
        writes_recovered=recovered,
        writes_lost=lost,
        objectives=objectives,
        started_at=events[0].at if events else "",
        finished_at=events[-1].at if events else "",
        timeline=events,
        findings=tuple(findings),
        protection=dict(protection or {}),
        extra=dict(extra or {}),
    )
