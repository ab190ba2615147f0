"""A blue-green release on the slots platform, end to end: `Up` (the embedded router + the controller) over a fleet
of two long-lived slots on this machine (`greenflag demo-app` on fixed loopback ports, re-deployed in place by a
deploy script: tests/platform_scripts.py), with users sending load through the router the whole time (the load
engine's PacedLoad) and smoke traffic reaching the version under test by the route header.

v1 is deployed onto blue; v2 onto the idle green, analysed on the smoke traffic, promoted, and blue is stopped;
v3 — a bad release, 50 % errors — is deployed onto the idle blue, fails its analysis and is rolled back: green
kept serving v2, and no user request failed at any point."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from greenflag.config import load_spec
from greenflag.load.engine.paced import PacedLoad
from greenflag.platform.slotplan import IDLE, READY
from greenflag.platform.slots import SlotsPlatform
from greenflag.rollout.model import Phase
from greenflag.rollout.up import Up
from tests.platform_scripts import Fleet
from tests.support import free_port, http_get

pytestmark = pytest.mark.timeout(180)


def write_spec(tmp_path: Path, fleet: Fleet) -> Path:
    spec = {
        "service": "shop",
        "router": {"listen": f"127.0.0.1:{free_port()}", "admin": f"127.0.0.1:{free_port()}"},
        "platform": fleet.platform_keys(deploy_timeout="60s", start_timeout="90s", stop_grace="2s"),
        "health": {"readiness": {"http": "/healthz/ready", "interval": "100ms"}},
        "strategy": {
            "blue_green": {"pre_promotion_analysis": {"duration": "6s"}, "scale_down_delay": "500ms",
                           "abort_scale_down_delay": "500ms"},
        },
        "analysis": {"interval": "200ms", "window": "6s"},
        "state_dir": str(tmp_path / "state"),
    }
    path = tmp_path / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def served(url: str) -> str:
    status, body = http_get(url + "/version")
    assert status == 200, status
    return str(json.loads(body)["version"])


async def test_a_bad_version_on_the_idle_slot_is_rolled_back_and_the_serving_slot_never_fails(tmp_path: Path) -> None:
    fleet = Fleet.create(tmp_path / "fleet")
    (fleet.root / "v3.args").write_text("--error-rate 0.5")
    up = Up(load_spec(write_spec(tmp_path, fleet)), tick_s=0.1)
    try:
        async with up.running():
            platform = up.controller.platform  # type: ignore[union-attr]
            assert isinstance(platform, SlotsPlatform)
            first = await up.rollout("v1", timeout=60)
            assert (first.phase, first.stable) == (Phase.HEALTHY, "v1")
            assert served(fleet.slots["blue"]) == "v1"

            users = PacedLoad(up.router_url + "/about", 40)
            smoke = PacedLoad(up.router_url + "/about", 40, headers={"X-Greenflag-Route": "preview"})
            tasks = [asyncio.create_task(load.run(max_requests=8000)) for load in (users, smoke)]
            try:
                good = await up.rollout("v2", timeout=90)
                assert (good.phase, good.stable) == (Phase.HEALTHY, "v2")
                bad = await up.rollout("v3", timeout=90)
            finally:
                for load in (users, smoke):
                    load.stop.set()
                await asyncio.gather(*tasks)

            assert (bad.phase, bad.stable, bad.weights) == (Phase.ROLLED_BACK, "v2", {"v2": 100})
            rollback = next(e for e in bad.events if e.kind == "rollback")
            assert rollback.trigger == "error_rate", rollback.message
            assert users.classes() == {"2xx": users.classes()["2xx"]}, f"a user request failed: {users.counts}"
            assert users.counts["v1 2xx"] > 0 and users.counts["v2 2xx"] > 0 and users.counts["v3 2xx"] == 0
            assert smoke.counts["v3 5xx"] > 0, "the smoke traffic found the bad version"
            assert served(fleet.slots["green"]) == "v2", "the serving slot kept serving"

            async def settled() -> bool:
                return platform.states()["blue"].state == IDLE

            for _ in range(100):  # v3's slot is stopped after abort_scale_down_delay
                if await settled():
                    break
                await asyncio.sleep(0.1)
            states = platform.states()
            assert (states["green"].state, states["green"].version) == (READY, "v2")
            assert (states["blue"].state, states["blue"].version) == (IDLE, "v3")
            assert [line.split(" (")[0] for line in fleet.activity()] == [
                "deploy blue v1", "deploy green v2", "stop blue v1 grace 2", "deploy blue v3", "stop blue v3 grace 2",
            ]  # fmt: skip
        assert served(fleet.slots["green"]) == "v2", "greenflag up stopping leaves the fleet running"
    finally:
        fleet.stop_all()
    print(f"users: {dict(users.counts)}; smoke: {dict(smoke.counts)}")


async def test_a_release_started_while_the_last_one_scales_down_waits_for_the_slot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Both slots are held (v2 serves on green, v1 still scales down on blue) when v3 is rolled out: v3 waits until
    the hand-over stops v1, then is deployed onto blue — it neither fails nor touches green."""
    fleet = Fleet.create(tmp_path / "fleet")
    path = write_spec(tmp_path, fleet)
    data = yaml.safe_load(path.read_text())
    data["strategy"] = {"blue_green": {"scale_down_delay": "4s"}}
    data["analysis"] = {"defaults": False}
    path.write_text(yaml.safe_dump(data))
    up = Up(load_spec(path), tick_s=0.1)
    try:
        async with up.running():
            controller = up.controller
            assert controller is not None
            await up.rollout("v1", timeout=60)
            started = controller.start("v2")
            for _ in range(600):  # promoted, and v1 not stopped yet (its scale-down delay runs)
                status = controller.store.load(started.rollout_id)
                if status is not None and status.phase is Phase.HEALTHY:
                    break
                await asyncio.sleep(0.1)
            platform = controller.platform
            assert isinstance(platform, SlotsPlatform)
            assert {s.slot: s.state for s in platform.states().values()} == {"blue": READY, "green": READY}
            final = await up.rollout("v3", timeout=90)
            assert (final.phase, final.stable) == (Phase.HEALTHY, "v3")
            assert "no idle slot to deploy v3 onto: blue holds v1 (ready); green holds v2 (ready)" in caplog.text
            assert served(fleet.slots["blue"]) == "v3"
            deploys = [line.split(" (")[0] for line in fleet.activity() if line.startswith(("deploy", "stop"))]
            assert deploys == ["deploy blue v1", "deploy green v2", "stop blue v1 grace 2", "deploy blue v3",
                               "stop green v2 grace 2"]  # fmt: skip
    finally:
        fleet.stop_all()
