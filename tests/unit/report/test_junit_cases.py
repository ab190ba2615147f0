"""JUnit cases from a load summary and a rollout status: one per threshold, per gate, step, analysis metric."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from greenflag.report.junit import junit_xml
from greenflag.report.junit_cases import load_cases, rollout_cases

DATA = Path(__file__).resolve().parents[2] / "e2e" / "data" / "release"


def test_one_case_per_threshold_expression() -> None:
    summary = {"thresholds": {"http_req_duration": [{"expr": "p(95)<200", "ok": True, "value": 12.5},
                                                    {"expr": "p(99)<300", "ok": False, "value": 420.0}],
                              "http_req_failed": [{"expr": "rate<0.01", "ok": True, "value": None}]}}  # fmt: skip
    cases = load_cases(summary)
    assert [(c.name, c.ok) for c in cases] == [
        ("http_req_duration: p(95)<200", True), ("http_req_duration: p(99)<300", False),
        ("http_req_failed: rate<0.01", True),
    ]  # fmt: skip
    assert "value 420" in cases[1].message and "no data" in cases[2].output
    root = ET.fromstring(junit_xml("greenflag load run", cases))
    assert (root.get("tests"), root.get("failures")) == ("3", "1")


def test_a_stopped_run_is_a_failed_case() -> None:
    cases = load_cases({"thresholds": {}, "aborted": "threshold http_req_failed crossed"})
    assert [(c.name, c.ok) for c in cases] == [("run completed", False)]


def test_a_rolled_back_release_fails_the_step_the_metric_and_the_rollout() -> None:
    status = json.loads((DATA / "status.json").read_text())
    cases = {c.name: c for c in rollout_cases(status)}
    failed = sorted(name for name, c in cases.items() if not c.ok)
    assert failed == ["analysis step:1: error_rate", "rollout of v2", "step 1: analysis"]
    for name in failed:
        assert "trigger error_rate" in cases[name].details and "limit" in cases[name].details
    assert cases["v2 readiness gate"].ok and cases["step 0: 50 % to v2"].ok


def test_a_readiness_failure_fails_the_gate() -> None:
    status = {"phase": "RolledBack", "service": "s", "version": "v2", "events": [
        {"epoch": 1, "kind": "rollback", "message": "v2 not ready in time", "trigger": "readiness",
         "value": "not ready", "limit": "ready within 40s"}]}  # fmt: skip
    cases = {c.name: c for c in rollout_cases(status)}
    assert not cases["v2 readiness gate"].ok and "ready within 40s" in cases["v2 readiness gate"].details
    assert not cases["rollout of v2"].ok


def test_an_unfinished_rollout_is_skipped_not_passed() -> None:
    status = {"phase": "Paused", "service": "s", "version": "v2",
              "events": [{"epoch": 1, "kind": "step", "message": "step 0: 20 % to v2"}]}  # fmt: skip
    cases = {c.name: c for c in rollout_cases(status)}
    assert cases["rollout of v2"].result == "skipped" and cases["step 0: 20 % to v2"].result == "skipped"


def test_the_readiness_checklist_is_a_case_of_its_own() -> None:
    failed = {"phase": "RolledBack", "service": "s", "version": "v2",
              "data_steps": {"readiness": {"outcome": "failed", "detail": "0 of 1 checks passed; …"}},
              "events": [{"epoch": 1, "kind": "rollback", "trigger": "readiness checklist",
                          "message": "rolling back v2: the readiness checklist failed before promotion: check gate "
                                     "(fail: check.failed)",
                          "value": [{"check": "check", "target": "gate"}],
                          "limit": "every required check passes"}]}  # fmt: skip
    cases = {c.name: c for c in rollout_cases(failed)}
    case = cases["v2 readiness checklist"]
    assert not case.ok and case.classname == "greenflag.rollout.s.readiness" and "check.failed" in case.message
    assert "v2 readiness gate" not in cases  # the health gate (trigger `readiness`) is not blamed
    passed = {**failed, "phase": "Healthy", "events": [],
              "data_steps": {"readiness": {"outcome": "ok", "detail": "1 of 1 checks passed"}}}  # fmt: skip
    assert {c.name: c for c in rollout_cases(passed)}["v2 readiness checklist"].ok
