"""`greenflag check all` end to end: a real Prometheus (Debian package) scraping the reference service with an alert
rules file, backups in temp directories with drill records, health endpoints, user exec/http checks, the headers
and WAF checks against the reference service; terminal, --json and --junit; exit codes 0, 4 and 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from greenflag.config import load_spec
from greenflag.demo.process import DemoAppProcess, run_demo_app
from greenflag.readiness.base import Status
from greenflag.readiness.checklist import checklist_ok, run_checklist
from tests.servers import prometheus_server, scrape_job
from tests.support import free_port, greenflag_cmd, http_get, release_spec, wait_until

# every spec names how to start a version
PLATFORM = {"command": "greenflag demo-app --port {port} --version {version}"}

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs the prometheus Debian package")

RULES = {
    "groups": [
        {
            "name": "demo",
            "rules": [
                {
                    "alert": "DemoDown",
                    "expr": 'up{job="demo"} == 0',
                    "for": "1m",
                    "annotations": {"summary": "demo is down", "runbook_url": "https://runbooks.example/demo-down"},
                },
                {
                    "alert": "DemoErrors",
                    "expr": 'rate(http_requests_total{job="demo",status=~"5.."}[5m]) > 1',
                    "annotations": {"summary": "demo returns errors"},
                },
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def app() -> Iterator[DemoAppProcess]:
    with run_demo_app("v1") as a:
        yield a


@pytest.fixture(scope="module")
def prometheus(app: DemoAppProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("prom")
    (work / "rules.yml").write_text(yaml.safe_dump(RULES))
    jobs = [scrape_job("demo", app.url.removeprefix("http://")), scrape_job("ghost", f"127.0.0.1:{free_port()}")]
    with prometheus_server(work, jobs, rule_files=(work / "rules.yml",)) as address:

        def scraped() -> bool:
            query = address + "/api/v1/query?query=up%7Bjob%3D~%22demo%7Cghost%22%7D"
            result = json.loads(http_get(query)[1])["data"]["result"]
            return len(result) == 2  # both jobs scraped at least once (demo up, ghost down)

        wait_until(scraped, timeout=60, interval=0.2, what="Prometheus to scrape both jobs")
        yield address


def write_spec(tmp_path: Path, readiness: dict[str, object]) -> Path:
    spec = release_spec("demo", readiness=readiness)
    path = tmp_path / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def drill_record(directory: Path, *, ok: bool, age: timedelta) -> None:
    finished = datetime.now(UTC) - age
    stamp = finished.strftime("%Y%m%dT%H%M%SZ")
    record = {
        "kind": "postgres",
        "ok": ok,
        "finished_at": finished.isoformat().replace("+00:00", "Z"),
        "rto_s": 42.0 if ok else 1300.0,
        "rpo_s": 1.0,
        "writes_lost": 0,
        "objectives": {"rto_s": 900, "rpo_s": 300},
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"postgres-{stamp}.json").write_text(json.dumps(record))


def ready_setup(tmp_path: Path, app: DemoAppProcess, prometheus: str) -> Path:
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "db-old.dump").write_text("old")
    os.utime(backups / "db-old.dump", (time.time() - 7200, time.time() - 7200))
    (backups / "db-new.dump").write_text("new")  # just written: younger than the 5-minute RPO
    drill_record(tmp_path / ".greenflag" / "drills", ok=True, age=timedelta(days=2))
    return write_spec(
        tmp_path,
        {
            "required_before": "promote",
            "timeout": "60s",
            "monitoring": [{"prometheus": prometheus, "jobs": ["demo"], "alert_rules": ["DemoDown", "DemoErrors"]}],
            "backups": [
                {
                    "directory": "backups",
                    "pattern": "*.dump",
                    "max_age": "5m",
                    "drills": {"kind": "postgres", "max_age": "7d"},
                }
            ],
            "health": [{"url": app.url + "/healthz/ready", "expect_status": [200], "json_field": "status=ready"}],
            "checks": [
                {"name": "version", "http": app.url + "/version", "json_field": "version=v1"},
                {"name": "shell-safe", "exec": ["sh", "-c", 'test "$0" = "$1"', "a;b $(x)", "a;b $(x)"]},
            ],
            "headers": [
                {
                    "url": app.url + "/",
                    "https_url": f"https://127.0.0.1:{free_port()}/",
                    "min_grade": "F",
                    "required": False,
                }
            ],
            "waf": [{"url": app.url + "/api/items", "budget": 150, "rate": 1000, "required": False}],
        },
    )


async def test_a_ready_service_passes(tmp_path: Path, app: DemoAppProcess, prometheus: str) -> None:
    spec = load_spec(ready_setup(tmp_path, app, prometheus))
    results = await run_checklist(spec)
    by_name = {r.name: r for r in results}
    assert by_name["monitoring"].status is Status.PASS, by_name["monitoring"].findings
    assert by_name["monitoring"].evidence["up"]['{job="demo"}'][0]["value"] == 1.0
    assert set(by_name["monitoring"].evidence["alert_rules"]) == {"DemoDown", "DemoErrors"}
    assert by_name["backups"].status is Status.PASS and by_name["backups"].evidence["newest_source"].endswith(
        "new.dump"
    )
    assert by_name["health"].status is Status.PASS
    assert [r.status for r in results if r.name == "check"] == [Status.PASS, Status.PASS]
    assert by_name["waf"].status is Status.FAIL and by_name["waf"].grade == "F"  # no WAF in front: not required
    assert checklist_ok(results)


def test_cli_report_and_exit_codes(tmp_path: Path, app: DemoAppProcess, prometheus: str) -> None:
    path = ready_setup(tmp_path, app, prometheus)
    junit = tmp_path / "reports" / "readiness.xml"
    done = subprocess.run(
        greenflag_cmd("check", "all", "-f", str(path), "--json", "--junit", str(junit)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["required_before"] == "promote"
    assert {c["check"] for c in report["checks"]} == {"monitoring", "backups", "health", "check", "headers", "waf"}
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == str(len(report["checks"]))
    assert suite.get("failures") == "0" and suite.get("skipped") == "1"  # the optional WAF check did not pass

    # Break it: the RPO is missed (only an old backup), the last drill failed, Prometheus must also see "ghost"
    # (down), a required alert is missing, and one user check times out.
    (tmp_path / "backups" / "db-new.dump").unlink()
    drill_record(tmp_path / ".greenflag" / "drills", ok=False, age=timedelta(hours=1))
    spec = yaml.safe_load(path.read_text())
    spec["readiness"]["monitoring"][0].update(
        jobs=["demo", "ghost"], alert_rules=["DemoDown", "DemoLatency"], require_runbook=True
    )
    spec["readiness"]["checks"].append({"name": "slow", "exec": ["sleep", "10"], "timeout": "500ms"})
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    done = subprocess.run(
        greenflag_cmd("check", "all", "-f", str(path), "--junit", str(junit)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "NOT READY" in done.stdout and "not ready: monitoring" in done.stderr
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    monitoring = cases[f"monitoring {prometheus}"].find("failure")
    assert monitoring is not None and "ghost" in (monitoring.text or "") and "DemoLatency" in (monitoring.text or "")
    assert "DemoErrors" in (monitoring.text or "")  # no runbook_url annotation
    backups = cases[f"backups {tmp_path / 'backups'}"].find("failure")
    assert backups is not None and "older than the RPO objective" in (backups.text or "")
    assert "missed its objectives" in (backups.text or "")
    assert cases["check slow"].find("error") is not None  # could not finish: ERROR, not FAIL

    only = subprocess.run(
        greenflag_cmd("check", "all", "-f", str(path), "--only", "health", "--json"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert only.returncode == 0 and [c["check"] for c in json.loads(only.stdout)["checks"]] == ["health"]


def test_bad_spec_is_exit_2_naming_the_key(tmp_path: Path) -> None:
    path = write_spec(tmp_path, {"backups": [{"directory": "b", "max_age": "5m", "retention": 3}]})
    done = subprocess.run(greenflag_cmd("check", "all", "-f", str(path)), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and f"{path}:" in done.stderr
    assert "readiness.backups[0].retention: unknown key" in done.stderr and "Traceback" not in done.stderr
    empty = write_spec(tmp_path, {})
    done = subprocess.run(greenflag_cmd("check", "all", "-f", str(empty)), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no checks configured" in done.stderr
    done = subprocess.run(
        greenflag_cmd("check", "all", "-f", str(tmp_path / "nope.yaml")), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "no such file" in done.stderr
