"""RTO/RPO scoring on recorded drill timelines (real drills, saved as JSON) and on edge-case timelines."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from greenflag.dr.model import Event, EventName, Objectives, Severity
from greenflag.dr.score import compare_ledger, score

E = EventName
RECORDED = sorted((Path(__file__).parent / "timelines").glob("*.json"))
T0 = datetime(2026, 1, 1, 12, 0, 0)


def _objectives(data: dict[str, Any]) -> Objectives:
    o = data["objectives"]
    return Objectives(o["rto_s"], o["rpo_s"], o["max_writes_lost"])


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_rescoring_a_recorded_timeline_reproduces_its_result(path: Path) -> None:
    data = json.loads(path.read_text())
    timeline = [Event.from_json(e) for e in data["timeline"]]
    result = score(data["kind"], timeline, _objectives(data), protection=data["protection"])
    out = result.to_json()
    for key in ("ok", "rto_s", "rpo_s", "writes_acknowledged", "writes_recovered", "writes_lost", "started_at",
                "finished_at", "objectives", "findings"):  # fmt: skip
        assert out[key] == data[key], key


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_rto_and_rpo_are_read_off_the_timeline(path: Path) -> None:
    data = json.loads(path.read_text())
    by_name = {e["event"]: e for e in reversed(data["timeline"])}
    fault, healthy, verified = by_name["fault_injected"], by_name["healthy"], by_name["data_verified"]
    assert data["rto_s"] == pytest.approx(healthy["t"] - fault["t"], abs=1e-3)
    newest = datetime.fromisoformat(verified["detail"]["newest_heartbeat_at"])
    assert data["rpo_s"] == pytest.approx((datetime.fromisoformat(fault["at"]) - newest).total_seconds(), abs=1e-3)


def test_recorded_timelines_cover_a_pass_and_a_broken_backup() -> None:
    results = {p.stem: json.loads(p.read_text()) for p in RECORDED}
    assert results["postgres-stream-sync"]["ok"] and results["postgres-stream-sync"]["writes_lost"] == 0
    broken = results["postgres-missing-wal"]
    assert not broken["ok"] and {"dr.wal.gap", "dr.writes.lost"} <= {f["id"] for f in broken["findings"]}


def ev(t: float, name: str, **detail: Any) -> Event:
    return Event(t, (T0 + timedelta(seconds=t)).isoformat() + "Z", name, detail)


def at(t: float) -> str:
    return (T0 + timedelta(seconds=t)).isoformat() + "Z"


def drill(*middle: Event, healthy_t: float | None = 12.0, newest_t: float | None = 9.5, **verified: Any) -> list[Event]:
    events = [ev(0, E.DRILL_STARTED), ev(1, E.HEARTBEAT_STARTED), *middle, ev(10, E.FAULT_INJECTED),
              ev(10.1, E.HEARTBEAT_STOPPED, writes_acknowledged=100, rate_per_s=100.0)]  # fmt: skip
    if healthy_t is not None:
        events.append(ev(healthy_t, E.HEALTHY))
        detail = {"writes_acknowledged": 100, "writes_recovered": 100, "fixture": "ok", "integrity": "ok",
                  "newest_heartbeat_at": at(newest_t) if newest_t is not None else None, **verified}  # fmt: skip
        events.append(ev(healthy_t + 0.1, E.DATA_VERIFIED, **detail))
    events.append(ev(20, E.DRILL_FINISHED))
    return events


def ids(result: Any) -> dict[str, Severity]:
    return {f.id: f.severity for f in result.findings}


def test_a_clean_drill_passes_with_rto_and_rpo_from_the_events() -> None:
    result = score("postgres", drill(), Objectives(900, 300, 0))
    assert result.ok and result.rto_s == pytest.approx(2.0) and result.rpo_s == pytest.approx(0.5)
    assert (result.writes_acknowledged, result.writes_recovered, result.writes_lost) == (100, 100, 0)
    assert result.findings == () and result.started_at == at(0) and result.finished_at == at(20)


def test_objectives_missed_are_high_findings_that_fail() -> None:
    result = score("postgres", drill(healthy_t=40.0, newest_t=2.0), Objectives(rto_s=10, rpo_s=5))
    assert not result.ok
    assert ids(result) == {"dr.rto.missed": Severity.HIGH, "dr.rpo.missed": Severity.HIGH}
    assert "RTO 30s exceeds the objective 10s" in result.findings[0].message


def test_lost_writes_fail_only_beyond_the_allowed_number() -> None:
    lost = {"writes_recovered": 90, "lost_first_seq": 91, "lost_last_seq": 100}
    tolerated = score("postgres", drill(**lost), Objectives(max_writes_lost=None))
    assert tolerated.ok and tolerated.writes_lost == 10 and ids(tolerated) == {"dr.writes.lost": Severity.MEDIUM}
    held = score("postgres", drill(**lost), Objectives(max_writes_lost=0))
    assert not held.ok and ids(held) == {"dr.writes.lost": Severity.CRITICAL}
    assert "sequence 91–100" in held.findings[0].message


def test_a_restore_that_never_answers_fails_and_measures_nothing() -> None:
    events = drill(healthy_t=None)
    events.insert(-1, ev(19, E.STEP_FAILED, step="restore", error="the restored server exited"))
    result = score("postgres", events, Objectives())
    assert not result.ok and result.rto_s is None and result.rpo_s is None
    assert result.writes_lost == 100  # nothing verified: every acknowledged write counts as lost
    assert {"dr.step.failed", "dr.restore.failed"} <= set(ids(result))


def test_a_drill_stopped_before_the_fault_says_so() -> None:
    events = [ev(0, E.DRILL_STARTED), ev(1, E.STEP_FAILED, step="base backup", error="exit status 1"),
              ev(2, E.DRILL_FINISHED)]  # fmt: skip
    result = score("postgres", events, Objectives())
    assert not result.ok and ids(result) == {"dr.step.failed": Severity.CRITICAL, "dr.fault.missing": Severity.CRITICAL}
    assert result.writes_lost == 0


def test_a_wal_gap_is_critical_even_when_objectives_hold() -> None:
    gap = ev(10.2, E.WAL_CHECKED, where="/backup/wal", missing=["000000010000000000000004"])
    events = drill()
    events.insert(5, gap)
    result = score("postgres", events, Objectives())
    assert not result.ok and ids(result) == {"dr.wal.gap": Severity.CRITICAL}
    assert "000000010000000000000004" in result.findings[0].message and "/backup/wal" in result.findings[0].message


def test_no_heartbeat_recovered_means_no_recovery_point() -> None:
    result = score("sqlite", drill(newest_t=None, writes_recovered=0), Objectives())
    assert not result.ok and result.rpo_s is None and "dr.rpo.unknown" in ids(result)


def test_integrity_failures_fail_and_skipped_checks_are_informational() -> None:
    bad = score("postgres", drill(integrity="index x: corrupted"), Objectives())
    assert not bad.ok and ids(bad) == {"dr.integrity.failed": Severity.CRITICAL}
    skipped = score("postgres", drill(integrity="skipped: amcheck unavailable"), Objectives())
    assert skipped.ok and ids(skipped) == {"dr.integrity.skipped": Severity.INFO}
    fixture = score("postgres", drill(fixture="pgbench_accounts has 5 rows"), Objectives())
    assert not fixture.ok and "dr.fixture.mismatch" in ids(fixture)


def test_a_recovered_in_doubt_write_newer_than_the_fault_gives_rpo_zero() -> None:
    result = score("postgres", drill(newest_t=10.001), Objectives())
    assert result.rpo_s == 0.0


def test_health_answers_before_the_fault_do_not_count() -> None:
    events = drill()
    events.insert(2, ev(5, E.HEALTHY))
    assert score("postgres", events, Objectives()).rto_s == pytest.approx(2.0)


def test_a_slow_heartbeat_is_a_low_finding() -> None:
    events = drill()
    events[3] = ev(10.1, E.HEARTBEAT_STOPPED, writes_acknowledged=100, rate_per_s=20.0)
    result = score("postgres", events, Objectives())
    assert result.ok and ids(result) == {"dr.heartbeat.slow": Severity.LOW}


def test_ledger_comparison() -> None:
    c = compare_ledger(acknowledged=[1, 2, 3, 4, 5], in_doubt=[6], recovered=[1, 2, 3, 6, 99])
    assert (c.acknowledged, c.recovered, c.lost, c.lost_first, c.lost_last) == (5, 3, 2, 4, 5)
    assert (c.in_doubt, c.in_doubt_recovered, c.unexpected) == (1, 1, 1)
    assert compare_ledger([], [], []).lost_first is None
