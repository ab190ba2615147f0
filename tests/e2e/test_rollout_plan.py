"""`greenflag rollout plan`: the steps, the analysis traffic and the time to detect, without a router or with one
that cannot be reached (the users' rate given), as text and JSON; bad options exit 2 with one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support import greenflag_cmd

SPEC = """\
service: web
router: {listen: 127.0.0.1:1, admin: 127.0.0.1:1, admin_token_file: nowhere/token}
platform: {command: "web --port {port}"}
strategy: {canary: {steps: [{set_weight: 20}, {analysis: {duration: 15s}}, {set_weight: 100}]}}
analysis:
  interval: 500ms
  traffic: {urls: [/about], rate: 50}
  detect: {error_rate: 5%}
"""


def plan(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "greenflag.yaml"
    path.write_text(SPEC)
    return subprocess.run(greenflag_cmd("rollout", "plan", "-f", str(path), *args), capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)  # fmt: skip


def test_plan_as_text_and_json(tmp_path: Path) -> None:
    text = plan(tmp_path, "--user-rate", "10")
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "step 1: analysis 15s" in out and "analysis traffic: 50/s to each of the new version and the stable" in out
    assert "users' traffic: 10 req/s (users' rate given: 10/s; router stats unavailable" in out
    assert "step 1: analysis 15s at 20 %: the canary gets 52 req/s (2 users')" in out
    assert "error rate +5 %" in out and "caught 200/200" in out and "at most" in out
    report = json.loads(plan(tmp_path, "--user-rate", "10", "--json", "--latency-ms", "300").stdout)
    assert report["faults"] == {"error_rate": 0.05, "latency_ms": 300.0}
    assert [d["fault"] for d in report["detection"]] == ["error rate +5 %", "latency +300 ms"]
    error = report["detection"][0]
    assert error["caught"] == error["runs"] == 200 and error["exposed_users"] is not None
    assert error["max_s"] * 2 <= error["exposed_users"] + 1  # users' rate to the canary × the worst time
    assert not (tmp_path / ".greenflag").exists()  # planning writes nothing


def test_bad_options_exit_2(tmp_path: Path) -> None:
    for args, expected in (
        (["--error-rate", "lots"], "--error-rate 'lots'"),
        (["--error-rate", "150%"], "less than 100"),
    ):
        done = plan(tmp_path, *args)
        assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr, done.stderr
