"""`greenflag ops alert-rules` against promtool (Debian `prometheus`): the rules parse (`check rules`), and each
alert fires on series that should fire it and stays silent on series that should not (`test rules`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import release_spec

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "greenflag.yaml"
pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (Debian prometheus)")
BOUNDS = ("0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0",
          "+Inf")  # fmt: skip


def greenflag(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "greenflag", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def histogram(backend: str, slow_from: str | None) -> list[dict[str, str]]:
    """100 requests a minute: all under 100 ms, or 90 under 100 ms and 10 between 2.5 and 5 s (p95 ≈ 3.75 s)."""
    out = []
    for le in BOUNDS:
        fast = float(le) >= 0.1 if le != "+Inf" else True
        if slow_from is None:
            per_minute = 100 if fast else 0
        else:
            per_minute = 0 if not fast else (100 if le == "+Inf" or float(le) >= float(slow_from) else 90)
        out.append({"series": f'greenflag_router_request_duration_seconds_bucket{{job="r",backend="{backend}",'
                              f'le="{le}"}}', "values": f"0+{per_minute}x30"})  # fmt: skip
    return out


def router_series() -> list[dict[str, str]]:
    series = []
    for backend, errors in (("green", 5), ("blue", 0)):
        series += [
            {"series": f'greenflag_router_requests_total{{job="r",backend="{backend}"}}', "values": "0+100x30"},
            {"series": f'greenflag_router_responses_total{{job="r",backend="{backend}",code="5xx"}}',
             "values": f"0+{errors}x30"},
            {"series": f'greenflag_router_transport_errors_total{{job="r",backend="{backend}"}}', "values": "0x30"},
        ]  # fmt: skip
    return series + histogram("green", "5.0") + histogram("blue", None)


def expect(rules: dict[str, Any], alert: str, labels: dict[str, str], summary: str) -> dict[str, Any]:
    rule = next(r for g in rules["groups"] for r in g["rules"] if r["alert"] == alert)
    annotations = {**rule["annotations"], "summary": summary}
    return {"exp_labels": {**rule["labels"], **labels}, "exp_annotations": annotations}


def unit_tests(rules: dict[str, Any]) -> dict[str, Any]:
    svc = {"service": "contact-app"}
    return {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {"interval": "1m", "input_series": router_series(), "alert_rule_test": [
                {"eval_time": "1m", "alertname": "GreenflagHighErrorRate", "exp_alerts": []},  # `for: 2m`
                {"eval_time": "10m", "alertname": "GreenflagHighErrorRate", "exp_alerts": [
                    expect(rules, "GreenflagHighErrorRate", {"job": "r", "backend": "green"},
                           "green fails 5% of its requests")]},
                {"eval_time": "15m", "alertname": "GreenflagHighLatency", "exp_alerts": [
                    expect(rules, "GreenflagHighLatency", {"job": "r", "backend": "green"},
                           "green p95 latency is 3.75s")]},
            ]},
            {"interval": "1m", "input_series": [
                {"series": 'greenflag_rollout_rollbacks_total{service="contact-app"}', "values": "0 0 0 1 1x40"},
                {"series": 'greenflag_rollout_rollbacks_total{service="other"}', "values": "0 0 0 1 1x40"},
                {"series": 'greenflag_rollout_phase{service="contact-app",phase="Degraded"}', "values": "1x10 0x30"},
                {"series": 'greenflag_rollout_phase{service="contact-app",phase="Paused"}', "values": "0x10 1x35"},
                {"series": 'greenflag_controller_last_tick_timestamp_seconds{service="contact-app"}',
                 "values": "0+60x12 720x30"},
            ], "alert_rule_test": [
                {"eval_time": "5m", "alertname": "GreenflagRolloutRolledBack", "exp_alerts": [
                    expect(rules, "GreenflagRolloutRolledBack", svc, "A rollout of contact-app was rolled back")]},
                {"eval_time": "40m", "alertname": "GreenflagRolloutRolledBack", "exp_alerts": []},
                {"eval_time": "3m", "alertname": "GreenflagRolloutStuckDegraded", "exp_alerts": []},
                {"eval_time": "8m", "alertname": "GreenflagRolloutStuckDegraded", "exp_alerts": [
                    expect(rules, "GreenflagRolloutStuckDegraded", {**svc, "phase": "Degraded"},
                           "The rollback of contact-app has not completed")]},
                {"eval_time": "30m", "alertname": "GreenflagRolloutPaused", "exp_alerts": []},
                {"eval_time": "42m", "alertname": "GreenflagRolloutPaused", "exp_alerts": [
                    expect(rules, "GreenflagRolloutPaused", {**svc, "phase": "Paused"},
                           "The rollout of contact-app has been paused for 30 minutes")]},
                {"eval_time": "10m", "alertname": "GreenflagControllerStalled", "exp_alerts": []},  # ticking
                {"eval_time": "16m", "alertname": "GreenflagControllerStalled", "exp_alerts": [
                    expect(rules, "GreenflagControllerStalled", svc,
                           "The controller of contact-app stopped during a rollout")]},
            ]},
            {"interval": "1m", "input_series": [
                {"series": 'greenflag_backup_newest_timestamp_seconds{service="contact-app",kind="postgres"}',
                 "values": "0x30"},
                {"series": 'greenflag_backup_newest_timestamp_seconds{service="contact-app",kind="sqlite"}',
                 "values": "0+60x30"},
                {"series": 'greenflag_drill_ok{kind="postgres"}', "values": "0x30"},
                {"series": 'greenflag_drill_ok{kind="sqlite"}', "values": "1x30"},
                {"series": 'greenflag_drill_last_run_timestamp_seconds{kind="postgres"}', "values": "0x200"},
                {"series": 'greenflag_drill_last_run_timestamp_seconds{kind="sqlite"}', "values": "0+60x200"},
                {"series": 'greenflag_tls_certificate_expiry_timestamp_seconds{target="a:443",sni="a"}',
                 "values": "864000x10"},
                {"series": 'greenflag_tls_certificate_expiry_timestamp_seconds{target="b:443",sni="b"}',
                 "values": "432000x10"},
                {"series": 'greenflag_tls_certificate_expiry_timestamp_seconds{target="c:443",sni="c"}',
                 "values": "2592000x10"},
            ], "alert_rule_test": [
                {"eval_time": "4m", "alertname": "GreenflagBackupTooOld", "exp_alerts": []},
                {"eval_time": "10m", "alertname": "GreenflagBackupTooOld", "exp_alerts": [
                    expect(rules, "GreenflagBackupTooOld", {**svc, "kind": "postgres"},
                           "The newest postgres backup of contact-app is 10m 0s old")]},
                {"eval_time": "1m", "alertname": "GreenflagRestoreDrillFailed", "exp_alerts": [
                    expect(rules, "GreenflagRestoreDrillFailed", {"kind": "postgres"},
                           "The last postgres restore drill missed its objectives")]},
                {"eval_time": "50m", "alertname": "GreenflagRestoreDrillOverdue", "exp_alerts": []},
                {"eval_time": "2h", "alertname": "GreenflagRestoreDrillOverdue", "exp_alerts": [
                    expect(rules, "GreenflagRestoreDrillOverdue", {"kind": "postgres"},
                           "No postgres restore drill for 2h 0m 0s")]},
                {"eval_time": "1m", "alertname": "GreenflagCertificateExpiringSoon", "exp_alerts": [
                    expect(rules, "GreenflagCertificateExpiringSoon", {"target": t, "sni": t[0]},
                           f"The certificate of {t} expires in {left}")
                    for t, left in (("a:443", "9d 23h 59m 0s"), ("b:443", "4d 23h 59m 0s"))]},
                {"eval_time": "1m", "alertname": "GreenflagCertificateExpiryCritical", "exp_alerts": [
                    expect(rules, "GreenflagCertificateExpiryCritical", {"target": "b:443", "sni": "b"},
                           "The certificate of b:443 expires in 4d 23h 59m 0s")]},
            ]},
        ],
    }  # fmt: skip


def test_rules_pass_promtool_check_and_unit_tests(tmp_path: Path) -> None:
    result = greenflag("ops", "alert-rules", "-f", str(EXAMPLE), "--drill-max-age", "1h", "-o", "rules.yml",
                       cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    check = promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert check.returncode == 0 and "SUCCESS: 11 rules found" in check.stdout, check.stdout + check.stderr
    rules = yaml.safe_load((tmp_path / "rules.yml").read_text())
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(unit_tests(rules)))
    tested = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_limits_follow_the_spec_and_the_options(tmp_path: Path) -> None:
    spec = tmp_path / "g.yaml"
    spec.write_text(yaml.safe_dump(release_spec(
        "shop",
        analysis={"metrics": [
            {"name": "errors {{ x }}", "query": "error_rate", "failure_condition": "result > 0.002"},
            {"name": "slow", "query": "p99_ms", "success_condition": "result < 1500"}]},
        readiness={"backups": [{"directory": "/var/backups/shop", "max_age": "90s"}]},
    )))  # fmt: skip
    out = greenflag("ops", "alert-rules", "-f", str(spec), "--runbook-url", "https://wiki.example.com/rb/",
                    cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    (tmp_path / "r.yml").write_text(out.stdout)
    check = promtool("check", "rules", "r.yml", cwd=tmp_path)  # a `{{` in a metric name must not break templates
    assert check.returncode == 0, check.stdout + check.stderr
    rules = {r["alert"] + r["labels"].get("quantile", ""): r for g in yaml.safe_load(out.stdout)["groups"]
             for r in g["rules"]}  # fmt: skip
    assert rules["GreenflagHighErrorRate"]["expr"].endswith("> 0.002")
    assert "errors {{ x }}" in rules["GreenflagHighErrorRate"]["annotations"]["description"]
    assert rules["GreenflagHighLatency0.99"]["expr"].startswith("histogram_quantile(0.99,")
    assert rules["GreenflagHighLatency0.99"]["expr"].endswith("> 1.5")
    assert rules["GreenflagHighLatency0.95"]["expr"].endswith("> 3")
    assert rules["GreenflagBackupTooOld"]["expr"].endswith("> 90")
    assert 'service="shop"' in rules["GreenflagRolloutRolledBack"]["expr"]
    assert rules["GreenflagRolloutRolledBack"]["annotations"]["runbook_url"] == (
        "https://wiki.example.com/rb/incident-response.md#greenflagrolloutrolledback")
    plain = greenflag("ops", "alert-rules", "--error-rate", "0.5%", "--p95", "800ms", cwd=tmp_path)
    groups = yaml.safe_load(plain.stdout)["groups"]
    names = ["greenflag-router", "greenflag-rollout", "greenflag-backups", "greenflag-tls"]
    assert [g["name"] for g in groups] == names
    assert groups[0]["rules"][0]["expr"].endswith("> 0.005") and groups[0]["rules"][1]["expr"].endswith("> 0.8")


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["--error-rate", "2"], "--error-rate '2'"), (["--p95", "fast"], "--p95 'fast'"),
     (["--p95", "12s"], "histogram ends at 10s"), (["-f", "missing.yaml"], "missing.yaml: no such file"),
     (["-o", "x/y"], "-o x/y")],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    (tmp_path / "x").write_text("")
    result = greenflag("ops", "alert-rules", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr and result.stderr.strip().count("\n") == 0, result.stderr
