"""Drill records (JSON + Markdown, always written), the terminal summary and the JUnit cases."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from greenflag.cli.drill import junit_cases
from greenflag.dr.model import Event, Objectives
from greenflag.dr.records import markdown, summary, write_records
from greenflag.dr.score import score
from greenflag.report.junit import junit_xml

TIMELINES = Path(__file__).parent / "timelines"


def recorded(name: str, objectives: Objectives | None = None):  # type: ignore[no-untyped-def]
    data = json.loads((TIMELINES / f"{name}.json").read_text())
    o = data["objectives"]
    return score(
        data["kind"],
        [Event.from_json(e) for e in data["timeline"]],
        objectives or Objectives(o["rto_s"], o["rpo_s"], o["max_writes_lost"]),
        protection=data["protection"],
    )


def test_one_json_and_one_markdown_record_per_drill_named_by_kind_and_utc_time(tmp_path: Path) -> None:
    result = recorded("postgres-stream-sync")
    first = write_records(result, tmp_path / "drills")
    second = write_records(result, tmp_path / "drills")  # the same second: a suffix, never an overwrite
    assert re.fullmatch(r".*/postgres-\d{8}T\d{6}Z\.json", first["records"]["json"])
    assert second["records"]["json"].endswith("Z-2.json")
    on_disk = json.loads(Path(first["records"]["json"]).read_text())
    assert on_disk == first  # the record is exactly what --json prints
    for key in (
        "ok",
        "rto_s",
        "rpo_s",
        "writes_acknowledged",
        "writes_recovered",
        "writes_lost",
        "objectives",
        "kind",
        "started_at",
        "finished_at",
        "timeline",
        "findings",
    ):
        assert key in on_disk, key
    assert set(on_disk["objectives"]) >= {"rto_s", "rpo_s"}
    assert all(set(e) == {"t", "at", "event", "detail"} for e in on_disk["timeline"])
    assert on_disk["finished_at"].endswith("Z") and on_disk["started_at"] < on_disk["finished_at"]
    assert sorted(p.name for p in (tmp_path / "drills").iterdir()) == sorted(
        Path(d["records"][k]).name for d in (first, second) for k in ("json", "markdown")
    )


def test_markdown_record_has_verdict_objectives_findings_and_every_event() -> None:
    result = recorded("postgres-missing-wal")
    text = markdown(result)
    assert text.startswith("# Drill record: postgres — FAILED")
    assert "| RTO |" in text and "| writes lost | " in text and "`dr.wal.gap`" in text
    assert sum(1 for line in text.splitlines() if line.startswith("| ") and "Z |" in line) == len(result.timeline)


def test_summary_says_passed_or_failed_and_names_what_missed() -> None:
    assert summary(recorded("sqlite-backup")).startswith("greenflag drill sqlite: PASSED")
    text = summary(recorded("postgres-stream-sync", Objectives(rto_s=0.001, rpo_s=300, max_writes_lost=0)))
    assert text.startswith("greenflag drill postgres: FAILED") and "MISSED" in text and "dr.rto.missed" in text


def test_junit_has_one_case_per_objective() -> None:
    tight = recorded("postgres-stream-sync", Objectives(rto_s=0.001, rpo_s=300, max_writes_lost=0))
    root = ET.fromstring(junit_xml("greenflag drill postgres", junit_cases(tight)))
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["RTO ≤ 1ms", "RPO ≤ 5m00s", "writes lost ≤ 0"]
    assert [c.find("failure") is not None for c in cases] == [True, False, False]
    sqlite = junit_cases(recorded("sqlite-backup"))
    assert len(sqlite) == 2 and all(c.ok for c in sqlite)  # no writes-lost objective held for backups
