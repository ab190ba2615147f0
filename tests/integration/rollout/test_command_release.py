"""A canary release on the command platform, end to end: `Up` (the embedded router + the controller) over real
launch/stop/status commands (tests/platform_scripts.py: each instance a `greenflag demo-app` on a free loopback port,
started detached by `launch.sh`, which prints its address and task id last), with users sending load through the
router the whole time (the load engine's PacedLoad).

v1 gets two instances; v2 gets two of its own, takes 50 % then 100 %, and v1's tasks are stopped by `stop.sh` with
the id each launch printed; bad-3, whose launch exits 3, fails max_restarts + 1 times (two instances, one try each)
and is rolled back with the launch's own output as the cause, while v2 keeps 100 %. No user request fails, and
v2's tasks outlive `greenflag up`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from greenflag.config import load_spec
from greenflag.load.engine.paced import PacedLoad
from greenflag.platform.command import CommandPlatform
from greenflag.rollout.model import Phase
from greenflag.rollout.up import Up
from tests.platform_scripts import Orchestrator
from tests.support import free_port, http_get

pytestmark = pytest.mark.timeout(180)


def write_spec(tmp_path: Path, orchestrator: Orchestrator) -> Path:
    spec = {
        "service": "shop",
        "router": {"listen": f"127.0.0.1:{free_port()}", "admin": f"127.0.0.1:{free_port()}"},
        "platform": orchestrator.platform_keys(
            instances=2, launch_timeout="60s", status_interval="1s", stop_grace="2s", max_restarts=1
        ),
        "health": {"readiness": {"http": "/healthz/ready", "interval": "100ms"}},
        "strategy": {
            "canary": {"steps": [{"set_weight": 50}, {"pause": {"duration": "1s"}}], "abort_scale_down_delay": "300ms"}
        },
        "analysis": {"defaults": False},
        "state_dir": str(tmp_path / "state"),
    }
    path = tmp_path / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def live_tasks(orchestrator: Orchestrator) -> list[dict[str, str]]:
    import subprocess

    out = subprocess.run([str(orchestrator.root / "status.sh")], capture_output=True, text=True, check=True).stdout
    tasks: list[dict[str, str]] = json.loads(out)
    return tasks


async def test_a_canary_on_the_command_platform_promotes_v2_and_rolls_back_a_launch_that_fails(tmp_path: Path) -> None:
    orchestrator = Orchestrator.create(tmp_path / "orchestrator")
    up = Up(load_spec(write_spec(tmp_path, orchestrator)), tick_s=0.1)
    try:
        async with up.running():
            assert isinstance(up.controller.platform, CommandPlatform)  # type: ignore[union-attr]
            first = await up.rollout("v1", timeout=60)
            assert (first.phase, first.stable) == (Phase.HEALTHY, "v1")
            v1_tasks = sorted(t["id"] for t in live_tasks(orchestrator))
            assert len(v1_tasks) == 2

            users = PacedLoad(up.router_url + "/about", 40)
            task = asyncio.create_task(users.run(max_requests=8000))
            try:
                good = await up.rollout("v2", timeout=90)
                bad = await up.rollout("bad-3", timeout=90)
            finally:
                users.stop.set()
                await task

            assert (good.phase, good.stable) == (Phase.HEALTHY, "v2")
            assert (bad.phase, bad.stable, bad.weights) == (Phase.ROLLED_BACK, "v2", {"v2": 100})
            rollback = next(e for e in bad.events if e.kind == "rollback")
            assert rollback.trigger == "launch", rollback.message
            assert "fatal: bad-3 does not install" in rollback.message, rollback.message
            assert "2 exits, platform.max_restarts 1" in rollback.message, rollback.message
            assert users.classes() == {"2xx": users.classes()["2xx"]}, f"a user request failed: {users.counts}"
            assert users.counts["v1 2xx"] > 0 and users.counts["v2 2xx"] > 0

            tasks = live_tasks(orchestrator)
            assert sorted(t["version"] for t in tasks) == ["v2", "v2"], tasks
            activity = [line.split(" grace")[0] for line in orchestrator.activity()]
            bad_launches = [line for line in activity if line.startswith("launch bad-3-")]
            assert len(bad_launches) == 2, activity  # max_restarts 1: the second failed start rolls back
            assert sorted(line for line in activity if line.startswith("stop ")) == [f"stop {t}" for t in v1_tasks]
        after = live_tasks(orchestrator)
        assert sorted(t["id"] for t in after) == sorted(t["id"] for t in tasks), "greenflag up leaves them running"
        status, body = http_get(after[0]["url"] + "/version")
        assert (status, json.loads(body)["version"]) == (200, "v2")
    finally:
        orchestrator.stop_all()
    print(f"users: {dict(users.counts)}")
