"""`readiness: {required_before: promote}` end to end: a real `greenflag up` (embedded router, demo-app processes,
controller) and `greenflag rollout start --wait`, with the checklist's real `health` and `exec` checks.

One `up` and one spec for the whole module (the spec cannot change under a running `up`): the exec checks test for
files the test creates, so the same checklist passes, passes with a failed optional check, then fails a required
check."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import free_port, greenflag_cmd, http_get, wait_until

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    tmp = tmp_path_factory.mktemp("readiness gate $(x) ;")  # shell metacharacters in every path of the checklist
    listen = f"127.0.0.1:{free_port()}"
    command = f"{sys.executable} -m greenflag demo-app --port {{port}} --version {{version}}"
    spec: dict[str, Any] = {
        "service": "gated",
        "router": {"listen": listen, "admin": f"127.0.0.1:{free_port()}"},
        "platform": {"command": command, "stop_grace": "3s", "start_timeout": "40s", "cwd": str(tmp)},
        "health": {"readiness": {"http": "/healthz/ready", "interval": "100ms"}},
        "strategy": {"canary": {"steps": [{"set_weight": 50}, {"set_weight": 100}], "abort_scale_down_delay": "0s"}},
        "analysis": {"defaults": False},  # no traffic here: the gate under test is the checklist
        "readiness": {
            "required_before": "promote",
            "health": [{"url": f"http://{listen}/healthz/ready", "json_field": "status=ready"}],
            "checks": [
                {"name": "release-gate", "exec": ["test", "!", "-e", str(tmp / "fail-required")]},
                {"name": "docs-published", "exec": ["test", "!", "-e", str(tmp / "fail-optional")], "required": False},
            ],
        },
    }
    path = tmp / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec))
    up = subprocess.Popen(greenflag_cmd("up", "-f", str(path)), cwd=tmp, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_until(lambda: (tmp / ".greenflag" / "up.json").exists(), timeout=30, what="up.json")
        yield tmp, path, f"http://{listen}"
    finally:
        up.send_signal(signal.SIGTERM)
        out, _ = up.communicate(timeout=30)
    assert up.returncode == 0, out.decode()[-2000:]


def rollout(env: tuple[Path, Path, str], version: str) -> tuple[int, dict[str, Any]]:
    tmp, path, _ = env
    done = subprocess.run(greenflag_cmd("rollout", "start", "-f", str(path), "--version", version, "--wait", "--json"),
                          cwd=tmp, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def events(status: dict[str, Any], *kinds: str) -> list[dict[str, Any]]:
    return [e for e in status["events"] if e["kind"] in kinds]


def test_the_checklist_gates_promotion(env: tuple[Path, Path, str]) -> None:
    tmp, _, router = env
    code, first = rollout(env, "v1")
    assert code == 0 and first["phase"] == "Healthy"
    assert not events(first, "readiness"), "the initial deployment runs no checklist"

    # every check passes: promoted; the checklist ran while v2 had 50 %, before the 100 % step
    code, second = rollout(env, "v2")
    assert code == 0 and (second["phase"], second["stable"]) == ("Healthy", "v2"), second["events"]
    kinds = [e["kind"] for e in second["events"]]
    passed = next(e for e in second["events"] if e["kind"] == "readiness" and "passed" in e["message"])
    assert passed["message"] == "readiness checklist passed: 3 of 3 checks passed"
    steps = [e["message"] for e in events(second, "step")]
    assert steps == ["step 0: 50 % to v2", "step 1: 100 % to v2"]
    assert kinds.index("readiness") > kinds.index("step") and second["data_steps"]["readiness"]["outcome"] == "ok"

    # an optional check fails: promoted, with a warning naming it and its finding
    (tmp / "fail-optional").touch()
    code, third = rollout(env, "v3")
    assert code == 0 and third["stable"] == "v3"
    (warning,) = events(third, "readiness_warning")
    assert warning["message"] == (
        "readiness checklist: 1 optional check did not pass (required: false): "
        "check docs-published (fail: check.failed)"
    )

    # a required check fails: rolled back before promotion, traffic back on v3 in the same tick
    (tmp / "fail-required").touch()
    code, fourth = rollout(env, "v4")
    assert code == 3 and (fourth["phase"], fourth["stable"]) == ("RolledBack", "v3")
    rollback = events(fourth, "rollback")[0]
    assert rollback["trigger"] == "readiness checklist" and rollback["message"] == (
        "rolling back v4: the readiness checklist failed before promotion: check release-gate (fail: check.failed)"
    )
    assert rollback["value"] == [
        {"check": "check", "target": "release-gate", "status": "fail", "required": True, "findings": ["check.failed"]}
    ]
    assert "100 % to v4" not in " ".join(e["message"] for e in events(fourth, "step"))
    after = fourth["events"][fourth["events"].index(rollback) + 1 :]
    held = next(e for e in after if e["kind"] == "router")["message"]  # the read-back after the rollback's weights
    assert held in ("router holds v3 100 (read back)", "router holds v3 100, v4 0 (read back)")
    assert not events(fourth, "promoted") and b'"v3"' in http_get(router + "/version")[1]

    # a new rollout (retry) runs the checklist anew: the gate is open again, v4 is promoted
    (tmp / "fail-required").unlink()
    retried = subprocess.run(greenflag_cmd("rollout", "retry", "-f", str(env[1]), "--wait", "--json"), cwd=tmp,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    final = json.loads(retried.stdout)
    assert retried.returncode == 0 and (final["stable"], final["version"]) == ("v4", "v4"), retried.stderr
    assert final["data_steps"]["readiness"]["outcome"] == "ok"


@pytest.mark.parametrize(
    ("readiness", "message"),
    [
        ({"checks": []}, "readiness.required_before: promote, but readiness lists no check to run"),
        ({"ca_file": "no-such-ca.pem", "health": [{"url": "http://127.0.0.1:9/"}]}, "readiness.ca_file: no-such-ca"),
    ],
)
def test_a_checklist_that_cannot_run_stops_up_before_anything_starts(
    tmp_path: Path, readiness: dict[str, Any], message: str
) -> None:
    spec = {
        "service": "bad",
        "router": {"listen": f"127.0.0.1:{free_port()}", "admin": f"127.0.0.1:{free_port()}"},
        "platform": {"command": "app --port {port}"},
        "strategy": {"canary": {"steps": [{"set_weight": 100}]}},
        "readiness": {"required_before": "promote", **readiness},
    }
    path = tmp_path / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec))
    done = subprocess.run(greenflag_cmd("up", "-f", str(path)), cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / ".greenflag" / "up.json").exists()
