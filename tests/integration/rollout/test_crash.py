"""kill -9 of the controller (`greenflag up`) at a dozen points of a rollout, then restart: the rollout ends in
the same state as without the crash, every hook ran exactly once, and traffic only ever goes to a serving
version. One state directory, one rollout (a new version) per kill point, to keep the suite fast."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from greenflag.platform.process import pid_alive
from greenflag.rollout.api import ApiClient
from tests.support import greenflag_cmd, http_get, local_release, save_spec, wait_until

pytestmark = pytest.mark.timeout(240)

HOOKS = ("before_install", "after_install", "after_allow_test_traffic", "before_allow_traffic", "after_allow_traffic")
Point = Callable[[dict[str, Any], str], bool]


def hook(name: str) -> str:
    line = f"{name} $GREENFLAG_VERSION"
    return f'echo "start {line}" >> hooks.txt; sleep 0.2; echo "{line}" >> hooks.txt'


def write_spec(tmp: Path) -> Path:
    hooks: dict[str, Any] = {name: [hook(name)] for name in (*HOOKS, "on_rollback")}
    spec = local_release(
        tmp,
        "crashy",
        strategy={
            "canary": {
                "steps": [
                    {"set_weight": 30},
                    {"pause": {"duration": "500ms"}},
                    {"set_weight": 60},
                    {"pause": {"duration": "500ms"}},
                    {"set_weight": 100},
                ],
                "abort_scale_down_delay": "1s",
                "background_analysis": False,  # no traffic here: crash safety, not judgement, is under test
            }
        },
        analysis={"interval": "200ms", "window": "3s"},
        hooks=hooks,
    )
    return save_spec(tmp, spec)


class Cluster:
    """A `greenflag up` subprocess over one state directory, killed and restarted at will."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.spec_path = write_spec(tmp)
        self.proc: subprocess.Popen[bytes] | None = None
        self.api: ApiClient | None = None
        self.kills = 0

    def start(self) -> None:
        log = open(self.tmp / "up.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            greenflag_cmd("up", "-f", str(self.spec_path)), cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        info_path = self.tmp / ".greenflag" / "up.json"
        pid = self.proc.pid

        def up_ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, (self.tmp / "up.log").read_text()[-2000:]
            info = json.loads(info_path.read_text())
            return bool(info["pid"] == pid)

        wait_until(up_ready, timeout=30, what="greenflag up ready")
        info = json.loads(info_path.read_text())
        token = (self.tmp / ".greenflag" / "token").read_text().strip()
        self.api = ApiClient(info["api"], token)
        self.router = str(info["router"])

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def status(self) -> dict[str, Any]:
        db = sqlite3.connect(f"file:{self.tmp / '.greenflag' / 'state.db'}?mode=ro", uri=True, timeout=5)
        try:
            row = db.execute("SELECT status FROM rollouts ORDER BY id DESC LIMIT 1").fetchone()
        finally:
            db.close()
        return json.loads(row[0]) if row else {}

    def hooks_text(self) -> str:
        path = self.tmp / "hooks.txt"
        return path.read_text() if path.exists() else ""

    def rollout(self, version: str, kill_at: list[Point]) -> dict[str, Any]:
        assert self.api is not None
        self.api.call("POST", "/api/rollouts", {"version": version})
        for point in kill_at:
            wait_until(lambda p=point: p(self.status(), self.hooks_text()), timeout=60, interval=0.01,  # type: ignore[misc]
                       what=f"kill point of {version}")  # fmt: skip
            self.kill()
            self.start()
        wait_until(lambda: self.status().get("stage") == "done", timeout=90, interval=0.05, what=f"{version} done")
        return self.status()


def stage(name: str) -> Point:
    return lambda status, _hooks: status.get("stage") == name


def hook_running(name: str, version: str) -> Point:
    return lambda _status, hooks: f"start {name} {version}\n" in hooks and f"\n{name} {version}\n" not in "\n" + hooks


def live_versions(tmp: Path) -> set[str]:
    db = sqlite3.connect(f"file:{tmp / '.greenflag' / 'state.db'}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute("SELECT version, pid, port FROM instances").fetchall()
    finally:
        db.close()
    return {version for version, pid, port in rows if pid_alive(pid, str(port))}


@contextmanager
def cluster(tmp: Path) -> Iterator[Cluster]:
    c = Cluster(tmp)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def check_promoted(c: Cluster, final: dict[str, Any], version: str) -> None:
    assert (final["phase"], final["stable"], final["weights"]) == ("Healthy", version, {version: 100}), final["events"]
    for name in HOOKS:
        assert c.hooks_text().count(f"start {name} {version}\n") == 1, f"{name} of {version} started once"
        assert c.hooks_text().count(f"\n{name} {version}\n") == 1, f"{name} of {version} finished once"
    wait_until(lambda: live_versions(c.tmp) == {version}, timeout=20, what=f"only {version} runs")
    wait_until(lambda: b'"' + version.encode() + b'"' in http_get(c.router + "/version")[1], timeout=20,
               what=f"router serves {version}")  # fmt: skip


# Ten kill points of healthy rollouts (several per rollout, each rollout a new version), two of a rollback.
POINTS: list[tuple[str, Callable[[str], list[Point]]]] = [
    (
        "during before_install, while launching, during after_install",
        lambda v: [hook_running("before_install", v), stage("ready"), hook_running("after_install", v)],
    ),
    (
        "during after_allow_test_traffic, during before_allow_traffic, in the first pause",
        lambda v: [
            hook_running("after_allow_test_traffic", v),
            hook_running("before_allow_traffic", v),
            stage("step:1"),
        ],
    ),
    (
        "in the second pause, during after_allow_traffic",
        lambda v: [stage("step:3"), hook_running("after_allow_traffic", v)],
    ),
    ("while launching, in the first pause", lambda v: [stage("ready"), stage("step:1")]),
]


def test_kill_9_at_many_points_then_restart_converges(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        first = c.rollout("v0", [])
        assert first["phase"] == "Healthy"
        for index, (name, points) in enumerate(POINTS, start=1):
            version = f"v{index}"
            final = c.rollout(version, points(version))
            try:
                check_promoted(c, final, version)
            except AssertionError as exc:
                raise AssertionError(f"kill point {name!r}: {exc}") from exc
        assert c.kills >= 10

        # The rollback path: kill during on_rollback and during the scale-down delay.
        (tmp_path / "bad.args").write_text("--no-such-option")  # exits at once: the health gate fails
        final = c.rollout("bad", [hook_running("on_rollback", "bad"), stage("scale_down_canary")])
        last = f"v{len(POINTS)}"
        assert (final["phase"], final["stable"], final["weights"]) == ("RolledBack", last, {last: 100})
        assert c.hooks_text().count("start on_rollback bad\n") == 1
        assert c.hooks_text().count("\non_rollback bad\n") == 1
        wait_until(lambda: live_versions(tmp_path) == {last}, timeout=20, what="bad stopped")
        assert c.kills >= 12
