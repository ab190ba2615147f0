"""The readiness section's model and errors, the checklist's planning, timeouts and errors, backups and monitoring
verdicts, and the report (pure or without network)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from greenflag.config import load_spec
from greenflag.errors import ConfigError
from greenflag.readiness import checklist
from greenflag.readiness.backups_eval import BackupFacts, evaluate_backups, parse_drill, parse_timestamp
from greenflag.readiness.base import CheckResult, Finding, Severity, Status
from greenflag.readiness.checklist import checklist_ok, plan_checklist, run_checklist
from greenflag.readiness.monitoring_eval import AlertRule, MonitoringFacts, evaluate_monitoring
from greenflag.report.checklist import checklist_json, junit_cases
from greenflag.report.junit import junit_xml
from tests.support import DEMO_PLATFORM_YAML, wait_until


def running_in_group(group: int) -> list[int]:
    """Processes of a process group that are alive and not zombies (/proc/PID/stat: state, ppid, pgrp)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                alive.append(int(entry.name))
    return alive


HEAD = "service: shop\nstrategy: {canary: {steps: [{set_weight: 100}]}}\n" + DEMO_PLATFORM_YAML
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def spec_file(tmp_path: Path, readiness: str) -> Path:
    path = tmp_path / "greenflag.yaml"
    path.write_text(HEAD + "readiness:\n" + readiness)
    return path


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("  tls:\n    - {host: a.example, min_grade: Z}\n", ":6: readiness.tls[0].min_grade"),
        ("  waf:\n    - url: http://127.0.0.1/\n      budjet: 5\n", ":7: readiness.waf[0].budjet: unknown key"),
        ("  backups:\n    - {directory: b}\n", "readiness.backups[0]: max_age (the RPO objective) is required"),
        (
            "  checks:\n    - {name: x, exec: ['true'], http: 'http://127.0.0.1/'}\n",
            "readiness.checks[0]: a check needs",
        ),
        ("  monitor: []\n", ":5: readiness.monitor: unknown key"),
        ("  required_before: deploy\n", "readiness.required_before"),
    ],
)
def test_bad_keys_name_file_line_and_key(tmp_path: Path, body: str, expected: str) -> None:
    path = spec_file(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        load_spec(path)
    text = str(err.value)
    assert f"{path}{expected}" in text if expected.startswith(":") else f"{path}" in text and expected in text


def test_plan_time_errors_name_the_key(tmp_path: Path) -> None:
    spec = load_spec(
        spec_file(tmp_path, "  resolve: ['shop.example.com:443']\n  checks: [{name: x, exec: ['true']}]\n")
    )
    with pytest.raises(ConfigError, match=r"readiness\.resolve\[0\]: expected HOST:PORT:ADDRESS"):
        plan_checklist(spec)
    spec = load_spec(spec_file(tmp_path, "  waf:\n    - {url: 'http://127.0.0.1/', classes: [sqli, nope]}\n"))
    with pytest.raises(ConfigError, match=r"readiness\.waf\[0\]\.classes\[1\]: 'nope' is not one of"):
        plan_checklist(spec)
    spec = load_spec(spec_file(tmp_path, "  ca_file: missing.pem\n  checks: [{name: x, exec: ['true']}]\n"))
    with pytest.raises(ConfigError, match=r"readiness\.ca_file: missing\.pem: no such file"):
        plan_checklist(spec)


def test_days_and_defaults(tmp_path: Path) -> None:
    spec = load_spec(spec_file(tmp_path, "  required_before: promote\n  backups:\n    - drills: {max_age: 7d}\n"))
    ready = spec.readiness
    assert ready.required_before == "promote" and ready.timeout == 120.0
    assert ready.backups[0].drills is not None and ready.backups[0].drills.max_age == 7 * 86400
    assert ready.backups[0].required is True
    planned = plan_checklist(spec)
    assert [p.kind for p in planned] == ["backups"]
    assert planned[0].target == str(tmp_path / ".greenflag" / "drills")  # relative to greenflag.yaml


async def test_timeouts_crashes_and_missing_modules_are_errors_of_one_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_spec(
        spec_file(
            tmp_path,
            "  checks:\n    - {name: slow, exec: [sh, -c, 'echo $$ > slow.pid; sleep 30 & wait'], timeout: 300ms}\n"
            "    - {name: quick, exec: ['true']}\n"
            "    - {name: broken, exec: ['false'], required: false}\n"
            "  dns:\n    - {name: shop.example.com}\n",
        )
    )
    monkeypatch.setitem(checklist.CHECKS, "dns", "greenflag.readiness.not_a_module:check_dns")
    monkeypatch.chdir(tmp_path)  # commands run in the current directory
    results = await run_checklist(spec)
    by_target = {r.target: r for r in results}
    assert (
        by_target["slow"].status is Status.ERROR
        and "did not finish within 0.3 s" in by_target["slow"].findings[0].message
    )
    assert by_target["slow"].findings[0].id == "check.timeout"
    group = int((Path.cwd() / "slow.pid").read_text())
    # the overrunning command and what it started (its process group) were killed: none is still running
    wait_until(lambda: not running_in_group(group), timeout=5, what=f"process group {group} to be gone")
    assert by_target["quick"].status is Status.PASS
    assert by_target["broken"].status is Status.FAIL and not by_target["broken"].required
    assert by_target["shop.example.com"].status is Status.ERROR
    assert by_target["shop.example.com"].findings[0].id == "dns.unavailable"
    assert not checklist_ok(results)
    assert checklist_ok([r for r in results if r.target in ("quick", "broken")])  # an optional failure does not block
    only = await run_checklist(spec, only={"checks"})
    assert {r.name for r in only} == {"check"}


def test_backups_verdicts() -> None:
    stamp = NOW - timedelta(minutes=3)
    fresh = BackupFacts("db", stamp, "db-1.dump")
    assert evaluate_backups(fresh, NOW, max_age=300).status is Status.PASS
    old = evaluate_backups(BackupFacts("db", NOW - timedelta(hours=2), "db-0.dump"), NOW, max_age=300)
    assert old.status is Status.FAIL and old.findings[0].id == "backups.too_old"
    assert "2h00m old" in old.findings[0].message and "RPO objective of 5m00s" in old.findings[0].message
    assert evaluate_backups(BackupFacts("db", None, "dir"), NOW, max_age=300).findings[0].id == "backups.none"
    assert evaluate_backups(BackupFacts("db", backup_error="exit 3"), NOW, max_age=300).status is Status.ERROR

    def drill(ok: bool, days: float) -> dict[str, object]:
        when = (NOW - timedelta(days=days)).isoformat().replace("+00:00", "Z")
        return {
            "kind": "postgres",
            "ok": ok,
            "finished_at": when,
            "rto_s": 1200,
            "rpo_s": 1,
            "objectives": {"rto_s": 900, "rpo_s": 300},
        }

    def judged(*records: dict[str, object]) -> list[str]:
        parsed = tuple(parse_drill(f"postgres-{i}.json", r) for i, r in enumerate(records))
        facts = BackupFacts("db", drills=parsed, backups_checked=False, drills_checked=True)
        return [f.id for f in evaluate_backups(facts, NOW, max_age=None, drill_max_age=7 * 86400).findings]

    assert judged(drill(True, 2)) == []
    assert judged(drill(True, 9)) == ["backups.drill_stale"]
    assert judged(drill(True, 9), drill(False, 1)) == ["backups.drill_failed"]  # the newest counts
    assert judged() == ["backups.no_drill"]
    with pytest.raises(ValueError, match="ok: expected a bool"):
        parse_drill("x.json", {"kind": "postgres", "ok": "yes", "finished_at": "2026-01-01T00:00:00Z"})
    assert parse_timestamp("1780315200") == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert parse_timestamp("2026-06-01T12:00:00") == parse_timestamp("2026-06-01T14:00:00+02:00")


def test_monitoring_verdicts() -> None:
    rules = (
        AlertRule("ShopDown", "shop", annotations={"runbook_url": "https://runbooks.example/down"}),
        AlertRule("ShopSlow", "shop", health="err", last_error="bad_data"),
    )
    good = MonitoringFacts("http://prom", {'{job="shop"}': [("a:1", 1.0), ("b:1", 1.0)]}, rules[:1])
    assert evaluate_monitoring(good, alert_rules=["ShopDown"], require_runbook=True).status is Status.PASS
    down = MonitoringFacts("http://prom", {'{job="shop"}': [("a:1", 1.0), ("b:1", 0.0)], '{job="x"}': []}, rules)
    result = evaluate_monitoring(down, alert_rules=["ShopDown", "ShopErrors"], require_runbook=True)
    assert result.status is Status.FAIL
    assert [f.id for f in result.findings] == [
        "monitoring.target_down",
        "monitoring.not_scraped",
        "monitoring.alert_missing",
        "monitoring.alert_broken",
        "monitoring.no_runbook",
    ]
    assert "b:1" in result.findings[0].message and "ShopErrors" in result.findings[2].message
    gone = evaluate_monitoring(MonitoringFacts("http://prom", {}, (), "connection refused"), alert_rules=[])
    assert gone.status is Status.ERROR and not gone.ok


def test_report_json_and_junit() -> None:
    finding = Finding("waf.block_rate_low", Severity.HIGH, "The WAF blocked 50 % of the attacks.")
    results = [
        CheckResult("headers", "https://shop/", Status.PASS, grade="A+", score=120.0, duration_s=0.5),
        CheckResult("waf", "https://shop/api", Status.FAIL, (finding,), grade="F", score=40.0),
        CheckResult(
            "monitoring", "http://prom", Status.ERROR, (Finding("monitoring.unreachable", Severity.HIGH, "refused"),)
        ),
        CheckResult("check", "lint", Status.FAIL, (Finding("check.failed", Severity.HIGH, "exit 1"),), required=False),
    ]
    report = checklist_json(results, required_before="promote")
    assert report["ok"] is False and report["summary"] == {"pass": 1, "warn": 0, "fail": 2, "error": 1, "skip": 0}
    assert [c["required"] for c in report["checks"]] == [True, True, True, False]
    assert report["findings"][0] == {
        "check": "waf",
        "target": "https://shop/api",
        "id": "waf.block_rate_low",
        "severity": "high",
        "message": "The WAF blocked 50 % of the attacks.",
    }
    json.dumps(report)
    root = ET.fromstring(junit_xml("greenflag check all", junit_cases(results)))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "4",
        "1",
        "1",
        "1",
    )
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    failure = cases["waf https://shop/api"].find("failure")
    assert failure is not None and failure.get("message") == "The WAF blocked 50 % of the attacks."
    assert cases["monitoring http://prom"].find("error") is not None
    skipped = cases["check lint"].find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("not required; fail")
