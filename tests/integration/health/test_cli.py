"""`greenflag probe` and `greenflag analysis run` (without a router) as subprocesses against the reference service."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenflag.demo.process import DemoAppProcess, run_demo_app
from tests.support import free_port, greenflag_cmd


@pytest.fixture(scope="module")
def app() -> Iterator[DemoAppProcess]:
    with run_demo_app("v7") as a:
        yield a


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(greenflag_cmd(*args), capture_output=True, text=True, timeout=60)


def test_probe_http_ok_and_failed(app: DemoAppProcess) -> None:
    done = cli("probe", app.url + "/healthz/ready", "--json-field", "status=ready", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is True and data["latency_ms"] > 0 and "HTTP 200" in data["detail"]
    done = cli("probe", app.url + "/version", "--body-contains", "v8")
    assert done.returncode == 4 and "FAILED" in done.stdout and "does not contain 'v8'" in done.stdout
    done = cli("probe", app.url + "/nope", "--expect-status", "200-299")
    assert done.returncode == 4 and "404" in done.stdout


def test_probe_tcp_and_bad_input(app: DemoAppProcess) -> None:
    assert cli("probe", f"tcp://127.0.0.1:{app.port}").returncode == 0
    assert cli("probe", f"tcp://127.0.0.1:{free_port()}").returncode == 4
    for args, needle in (
        (["ftp://x"], "TARGET 'ftp://x'"),
        ([app.url, "--timeout", "soon"], "--timeout 'soon'"),
        ([app.url, "--expect-status", "700"], "--expect-status '700'"),
    ):
        done = cli("probe", *args)
        assert done.returncode == 2 and needle in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def spec_file(tmp_path: Path, metric: dict[str, Any]) -> Path:
    spec = {
        "service": "web",
        "router": {"admin_token_file": str(tmp_path / "missing-token")},
        "platform": {"command": "web --port {port}"},
        "strategy": {"canary": {"steps": [{"set_weight": 10}]}},
        "analysis": {"defaults": False, "interval": "200ms", "metrics": [metric]},
    }
    path = tmp_path / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_analysis_run_http_json_metric_exit_codes(app: DemoAppProcess, tmp_path: Path) -> None:
    metric = {"name": "version", "provider": "http_json", "query": app.url + "/version", "json_path": "version",
              "count": 2, "success_condition": "result == 'v7'"}  # fmt: skip
    done = cli("analysis", "run", "-f", str(spec_file(tmp_path, metric)), "--canary", "v7", "--stable", "none")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("Successful") >= 2 and "analysis Successful" in done.stdout
    metric["success_condition"] = "result == 'v8'"
    done = cli("analysis", "run", "-f", str(spec_file(tmp_path, metric)), "--canary", "v7", "--json")
    assert done.returncode == 3, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])["summary"]
    assert summary["verdict"] == "Failed"
    assert summary["reason"] == "version = 'v7' does not meet success condition result == 'v8'"


def test_analysis_run_bad_condition_is_a_config_error(tmp_path: Path) -> None:
    metric = {"name": "m", "provider": "http_json", "query": "http://127.0.0.1:9/x", "success_condition": "result <"}
    done = cli("analysis", "run", "-f", str(spec_file(tmp_path, metric)), "--canary", "c")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "analysis.metrics[0].success_condition: 'result <': column 9" in done.stderr
