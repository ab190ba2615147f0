"""`greenflag up` + `greenflag rollout …` as a user runs them: exit codes, JSON status, refusals, bad specs."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import greenflag_cmd, http_get, local_release, save_spec, wait_until

pytestmark = pytest.mark.timeout(180)


def write_spec(tmp: Path, **overrides: Any) -> Path:
    steps = [{"set_weight": 50}, {"pause": {}}, {"set_weight": 100}]
    strategy = {"canary": {"steps": steps, "abort_scale_down_delay": "200ms"}}
    return save_spec(tmp, local_release(tmp, "cli-app", **{"strategy": strategy, **overrides}))


def gf(tmp: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(greenflag_cmd(*args), cwd=tmp, capture_output=True, text=True, timeout=timeout)


def test_invalid_spec_exits_2_naming_the_key_path(tmp_path: Path) -> None:
    path = write_spec(tmp_path, strategy={"canary": {"steps": [{"set_weight": 10}, {"set_weight": 150}]}})
    result = gf(tmp_path, "rollout", "start", "-f", str(path), "--version", "v1", "--wait")
    assert result.returncode == 2
    assert "strategy.canary.steps[1].set_weight" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_up_start_needs_wait_and_a_reachable_router(tmp_path: Path) -> None:
    path = write_spec(tmp_path)
    result = gf(tmp_path, "rollout", "start", "-f", str(path), "--version", "v1")
    assert result.returncode == 2 and "--wait" in result.stderr
    (tmp_path / ".greenflag").mkdir()
    (tmp_path / ".greenflag" / "token").write_text("t0ken\n")
    result = gf(tmp_path, "rollout", "start", "-f", str(path), "--version", "v1", "--wait")
    assert result.returncode == 2 and "cannot reach the router" in result.stderr, result.stderr


def test_up_and_the_rollout_commands(tmp_path: Path) -> None:
    path = write_spec(tmp_path)
    up = subprocess.Popen(
        greenflag_cmd("up", "-f", str(path)), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_until(lambda: (tmp_path / ".greenflag" / "up.json").exists(), timeout=30, what="up.json")
        router = json.loads((tmp_path / ".greenflag" / "up.json").read_text())["router"]

        first = gf(tmp_path, "rollout", "start", "-f", str(path), "--version", "v1", "--wait")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "v1 promoted" in first.stdout
        assert b'"v1"' in http_get(router + "/version")[1]

        check_refusals(tmp_path, path)

        started = gf(tmp_path, "rollout", "start", "-f", str(path), "--version", "v2")
        assert started.returncode == 0, started.stderr
        # a canary from a stable: the estimate of `rollout plan` first, with the router's users' traffic
        assert "time to detect, from the start of the analysis" in started.stdout, started.stdout
        assert "users' traffic:" in started.stdout and "plan for" in started.stdout
        busy = gf(tmp_path, "rollout", "start", "-f", str(path), "--version", "v3")
        assert busy.returncode == 2 and "in progress" in busy.stderr

        def paused() -> bool:
            status = json.loads(gf(tmp_path, "rollout", "status", "-f", str(path), "--json").stdout)
            return bool(status["phase"] == "Paused")

        wait_until(paused, timeout=60, interval=0.3, what="v2 paused at its indefinite pause")
        status = json.loads(gf(tmp_path, "rollout", "status", "-f", str(path), "--json").stdout)
        assert {"phase", "stable", "canary", "weights", "step", "events"} <= set(status)
        assert (status["stable"], status["canary"], status["weights"], status["step"]) == (
            "v1", "v2", {"v1": 50, "v2": 50}, 1,
        )  # fmt: skip

        assert gf(tmp_path, "rollout", "abort", "-f", str(path)).returncode == 0
        aborted = gf(tmp_path, "rollout", "resume", "-f", str(path), "--wait", "--json")
        assert aborted.returncode == 3
        final = json.loads(aborted.stdout)
        assert (final["phase"], final["stable"]) == ("RolledBack", "v1")
        rollback = next(e for e in final["events"] if e["kind"] == "rollback")
        assert rollback["trigger"] == "abort" and rollback["time"].endswith("Z")

        (tmp_path / "v4.args").write_text("--no-such-option")
        broken = gf(tmp_path, "rollout", "start", "-f", str(path), "--version", "v4", "--wait")
        assert broken.returncode == 3 and "rolled back" in broken.stderr

        retried = gf(tmp_path, "rollout", "retry", "-f", str(path), "--wait")
        assert retried.returncode == 3 and "rolled back" in retried.stderr
        nothing = gf(tmp_path, "rollout", "undo", "-f", str(path))
        assert nothing.returncode == 2 and "nothing to undo" in nothing.stderr
        assert gf(tmp_path, "rollout", "watch", "-f", str(path)).returncode == 0

        history = json.loads(gf(tmp_path, "rollout", "history", "-f", str(path), "--json").stdout)
        assert [(h["version"], h["phase"]) for h in history] == [
            ("v4", "RolledBack"), ("v4", "RolledBack"), ("v2", "RolledBack"), ("v1", "Healthy"),
        ]  # fmt: skip
        assert b'"v1"' in http_get(router + "/version")[1]
    finally:
        up.send_signal(signal.SIGTERM)
        out, _ = up.communicate(timeout=30)
    assert up.returncode == 0, out.decode()[-2000:]


def check_refusals(tmp_path: Path, path: Path) -> None:
    """With `up` running: bad versions, another spec and a second `up` are refused (exit 2, one line), and leave
    no trace (nothing journaled, up's address file kept)."""
    for bad in ("v4 --error-rate 1", "$(touch pwned)", "v2;touch pwned"):  # refused before anything starts
        refused = gf(tmp_path, "rollout", "start", "-f", str(path), "--version", bad)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("greenflag: error: --version: ")
    assert not (tmp_path / "pwned").exists()
    history = json.loads(gf(tmp_path, "rollout", "history", "-f", str(path), "--json").stdout)
    assert [h["version"] for h in history] == ["v1"], "no rollout was journaled for them"

    other = yaml.safe_load(path.read_text())  # another spec for the same state directory: refused, keys named
    other["strategy"]["canary"]["steps"][0]["set_weight"] = 10
    other["analysis"] = {"interval": "2s"}
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other))
    differ = gf(tmp_path, "rollout", "start", "-f", str(tmp_path / "other.yaml"), "--version", "v2")
    assert differ.returncode == 2, differ.stdout + differ.stderr
    assert differ.stderr.count("\n") == 1, differ.stderr
    assert "analysis.interval" in differ.stderr and "strategy.canary.steps[0].set_weight" in differ.stderr
    assert f"the spec differs from the one `greenflag up` runs ({path})" in differ.stderr, differ.stderr
    assert "restart `greenflag up` with this file to use it" in differ.stderr
    second_up = gf(tmp_path, "up", "-f", str(path))  # a second `up` is refused and leaves the first one's file
    assert second_up.returncode == 2 and "already running" in second_up.stderr
    assert (tmp_path / ".greenflag" / "up.json").exists()


def test_in_process_controller_with_an_external_router_resumes_after_kill_9(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        strategy={
            "canary": {
                "steps": [{"set_weight": 50}, {"pause": {"duration": "3s"}}, {"set_weight": 100}],
                "background_analysis": False,  # nothing sends it traffic: no evidence to wait for
            }
        },
        hooks={"before_allow_traffic": ["echo before $GREENFLAG_VERSION >> hooks.txt"]},
    )
    spec = yaml.safe_load(path.read_text())
    spec["router"]["backends"] = {"boot": "http://127.0.0.1:9"}  # `router serve` wants one; rollouts replace it
    path.write_text(yaml.safe_dump(spec))
    router = subprocess.Popen(
        greenflag_cmd("router", "serve", "-f", str(path)), cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    listen = "http://" + spec["router"]["listen"]
    try:
        wait_until(lambda: (tmp_path / ".greenflag" / "token").exists(), timeout=30, what="router token")
        first = gf(tmp_path, "rollout", "start", "-f", str(path), "--version", "v1", "--wait")
        assert first.returncode == 0, first.stdout + first.stderr
        assert b'"v1"' in http_get(listen + "/version")[1]

        controller = subprocess.Popen(
            greenflag_cmd("rollout", "start", "-f", str(path), "--version", "v2", "--wait"), cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

        def paused() -> bool:
            status = json.loads(gf(tmp_path, "rollout", "status", "-f", str(path), "--json").stdout)
            return bool(status["phase"] == "Paused")

        wait_until(paused, timeout=60, interval=0.3, what="v2 in its pause")
        controller.send_signal(signal.SIGKILL)
        controller.communicate(timeout=10)
        resumed = gf(tmp_path, "rollout", "resume", "-f", str(path), "--wait", "--json")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        final = json.loads(resumed.stdout)
        assert (final["phase"], final["stable"], final["weights"]) == ("Healthy", "v2", {"v2": 100})
        assert (tmp_path / "hooks.txt").read_text().splitlines() == ["before v1", "before v2"]
        assert b'"v2"' in http_get(listen + "/version")[1]
    finally:
        router.send_signal(signal.SIGTERM)
        router.communicate(timeout=30)
        stop_instances(path)


def stop_instances(path: Path) -> None:
    """In-process rollouts leave the stable version serving: stop what the journal lists."""
    import asyncio

    from greenflag.config import load_spec
    from greenflag.platform.registry import make_platform
    from greenflag.rollout.runtime import resolve_paths
    from greenflag.rollout.store import Store

    spec = resolve_paths(load_spec(path))
    platform = make_platform(spec, Store.for_state_dir(spec.state_dir))
    asyncio.run(platform.stop_all(grace_s=5))  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", ["listen", "admin"])
def test_up_refuses_an_address_it_cannot_listen_on_naming_the_key(tmp_path: Path, key: str) -> None:
    import socket

    path = write_spec(tmp_path)
    spec = yaml.safe_load(path.read_text())
    spec["router"][key] = "127.0.0.1:99999"
    path.write_text(yaml.safe_dump(spec))
    bad = gf(tmp_path, "up", "-f", str(path), timeout=30)
    assert bad.returncode == 2 and bad.stderr.count("\n") <= 2, bad.stderr
    assert f"router.{key}: '127.0.0.1:99999' is not HOST:PORT" in bad.stderr and "Traceback" not in bad.stderr
    with socket.create_server(("127.0.0.1", 0)) as busy:  # a port another server holds
        port = busy.getsockname()[1]
        spec["router"][key] = f"127.0.0.1:{port}"
        path.write_text(yaml.safe_dump(spec))
        taken = gf(tmp_path, "up", "-f", str(path), timeout=30)
    assert taken.returncode == 2, taken.stdout + taken.stderr
    assert taken.stderr.count("\n") == 1 and "Traceback" not in taken.stderr, taken.stderr
    assert f"router.{key}: cannot listen on 127.0.0.1:{port}: address already in use" in taken.stderr
