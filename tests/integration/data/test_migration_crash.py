"""kill -9 of the controller (`greenflag up`) while a migration runs, then a restart: the migration is never run
twice and never forgotten — the new controller waits for the one still running and takes its exit status, and the
release goes on from there (promoted after `up`; rolled back after `down`)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenflag.rollout.api import ApiClient
from tests.support import free_port, greenflag_cmd, wait_until

pytestmark = pytest.mark.timeout(180)

# Logs "COMMAND VERSION start", waits (bounded) for the file `release-COMMAND-VERSION` when $HOLD names that
# command, logs "... end"; `check` fails for v3 so that v3 rolls back after its `up`.
MIGRATE = """
import os, sys, time
command, version = sys.argv[1], os.environ["GREENFLAG_VERSION"]
log = lambda what: open("runs.txt", "a").write(f"{command} {version} {what}\\n")
log("start")
if f"{command}-{version}" in os.environ.get("HOLD", "").split():
    deadline = time.monotonic() + 60
    while not os.path.exists(f"release-{command}-{version}") and time.monotonic() < deadline:
        time.sleep(0.05)
log("end")
sys.exit(1 if command == "check" and version == "v3" else 0)
"""


class Up:
    """A `greenflag up` subprocess over one state directory, killed and restarted at will."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        (tmp / "migrate.py").write_text(MIGRATE)
        migrate = [sys.executable, "migrate.py"]
        spec: dict[str, Any] = {
            "service": "crashy",
            "router": {"listen": f"127.0.0.1:{free_port()}", "admin": f"127.0.0.1:{free_port()}"},
            "platform": {
                "command": f"{sys.executable} -m greenflag demo-app --port {{port}} --version {{version}}",
                "stop_grace": "2s",
            },
            "health": {"readiness": {"http": "/healthz/ready", "interval": "100ms"}},
            "strategy": {"canary": {"steps": [{"set_weight": 50}], "abort_scale_down_delay": "200ms"}},
            "analysis": {"defaults": False},
            "migrations": {
                "up": [*migrate, "up"],
                "down": [*migrate, "down"],
                "check": [*migrate, "check"],
                "env": {"HOLD": "up-v2 down-v3"},
            },
        }
        self.spec = tmp / "greenflag.yaml"
        self.spec.write_text(yaml.safe_dump(spec))
        self.proc: subprocess.Popen[bytes] | None = None
        self.api: ApiClient | None = None

    def start(self) -> None:
        with open(self.tmp / "up.log", "ab") as log:
            self.proc = subprocess.Popen(greenflag_cmd("up", "-f", str(self.spec)), cwd=self.tmp, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        info_path, pid = self.tmp / ".greenflag" / "up.json", self.proc.pid

        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, (self.tmp / "up.log").read_text()[-2000:]
            return bool(json.loads(info_path.read_text())["pid"] == pid)

        wait_until(ready, timeout=30, what="greenflag up ready")
        token = (self.tmp / ".greenflag" / "token").read_text().strip()
        self.api = ApiClient(json.loads(info_path.read_text())["api"], token)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)

    def status(self) -> dict[str, Any]:
        db = sqlite3.connect(f"file:{self.tmp / '.greenflag' / 'state.db'}?mode=ro", uri=True, timeout=5)
        try:
            row = db.execute("SELECT status FROM rollouts ORDER BY id DESC LIMIT 1").fetchone()
        finally:
            db.close()
        return json.loads(row[0]) if row else {}

    def runs(self) -> list[str]:
        path = self.tmp / "runs.txt"
        return path.read_text().splitlines() if path.exists() else []

    def done(self, version: str) -> dict[str, Any]:
        wait_until(lambda: self.status()["version"] == version and self.status()["stage"] == "done", timeout=90,
                   interval=0.05, what=f"{version} done")  # fmt: skip
        return self.status()


def test_kill_9_during_up_and_during_down_then_restart(tmp_path: Path) -> None:
    up = Up(tmp_path)
    up.start()
    try:
        assert up.api is not None
        up.api.call("POST", "/api/rollouts", {"version": "v1"})
        assert up.done("v1")["phase"] == "Healthy"

        # v2's `up` is running when the controller dies; a new controller takes its result, once
        up.api.call("POST", "/api/rollouts", {"version": "v2"})
        wait_until(lambda: "up v2 start" in up.runs(), timeout=60, what="v2's up running")
        up.kill()
        (tmp_path / "release-up-v2").touch()  # it ends while no controller runs
        up.start()
        final = up.done("v2")
        assert final["phase"] == "Healthy", final["events"]
        assert final["data_steps"]["migrate_up"] == {"outcome": "ok", "detail": "exit 0"}
        assert up.runs().count("up v2 start") == 1 and up.runs().count("check v2 start") == 1

        # v3's check fails: rollback; its `down` is running when the controller dies; it still ends, once
        assert up.api is not None
        up.api.call("POST", "/api/rollouts", {"version": "v3"})
        wait_until(lambda: "down v3 start" in up.runs(), timeout=60, what="v3's down running")
        up.kill()
        up.start()
        assert up.status()["stage"] == "migrate_down"  # the new controller waits for it
        (tmp_path / "release-down-v3").touch()
        final = up.done("v3")
        assert final["phase"] == "RolledBack" and final["stable"] == "v2", final["events"]
        assert final["data_steps"]["migrate_down"]["outcome"] == "ok"
        v3 = [line for line in up.runs() if " v3 " in line]
        assert v3 == [
            "up v3 start",
            "up v3 end",
            "check v3 start",
            "check v3 end",
            "down v3 start",
            "down v3 end",
            "check v3 start",
            "check v3 end",
        ]  # the check after down (it fails too: an event, no more)
        assert final["data_steps"]["migration_check_down"]["outcome"] == "failed"
    finally:
        up.stop()
