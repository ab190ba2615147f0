"""Undecided is not healthy, end to end: `Up` with real demo-app processes and real (low) traffic through the
router. A 5 % canary at 10 req/s sees a handful of requests in its 6 s analysis step — far below what the built-in
sequential tests need — so the step ends Inconclusive: the rollout pauses (analysis.on_inconclusive: pause), the
event says how many requests the canary saw and how many more were needed, and the canary is not promoted until
someone says so (`rollout promote` accepts the result)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from greenflag.config import load_spec
from greenflag.load.engine.paced import PacedLoad
from greenflag.rollout.model import Phase, Status
from greenflag.rollout.up import Up
from tests.support import local_release, save_spec, wait_until_async

pytestmark = pytest.mark.timeout(120)


def write_spec(tmp_path: Path) -> Path:
    strategy = {"canary": {"steps": [{"set_weight": 5}, {"analysis": {"duration": "6s"}}, {"set_weight": 100}]}}
    spec = local_release(tmp_path, "quiet", platform={"stop_grace": "2s"}, strategy=strategy,
                         analysis={"interval": "500ms"}, state_dir=str(tmp_path / "state"))  # fmt: skip
    return save_spec(tmp_path, spec)


async def test_a_five_percent_canary_at_low_traffic_is_inconclusive_not_promoted(tmp_path: Path) -> None:
    up = Up(load_spec(write_spec(tmp_path)), tick_s=0.1)
    async with up.running():
        controller = up.controller
        assert controller is not None
        assert (await up.rollout("v1", timeout=60)).phase is Phase.HEALTHY
        load = PacedLoad(up.router_url + "/about", 10)
        traffic = asyncio.create_task(load.run(max_requests=1500))
        try:
            started = controller.start("v2")

            def latest() -> Status:
                status = controller.store.load(started.rollout_id)
                assert status is not None
                return status

            async def held() -> bool:
                return latest().hold == "inconclusive" or latest().done

            await wait_until_async(held, timeout=60, interval=0.1, what="the analysis step to end")
            status = latest()
            assert (status.phase, status.hold, status.stable, status.stage) == (
                Phase.PAUSED, "inconclusive", "v1", "step:1",
            ), [(e.kind, e.message) for e in status.events]  # fmt: skip
            event = next(e for e in status.events if e.kind == "inconclusive")
            seen = event.value["error_rate"]["requests"]
            assert 0 <= seen < 20, event.value  # min_samples: 20
            assert f"canary has {seen} requests; {20 - seen} more needed" in event.message, event.message
            assert event.message.endswith("paused: `rollout resume` analyses again, `rollout promote` accepts it")
            assert await _served(up) == "v1"

            controller.store.post_command(started.rollout_id, "promote")  # a human accepts the result

            async def done() -> bool:
                return latest().done

            await wait_until_async(done, timeout=30, interval=0.1, what="promoted after `rollout promote`")
            final = latest()
            assert (final.phase, final.stable) == (Phase.HEALTHY, "v2")
        finally:
            load.stop.set()
            await traffic


async def _served(up: Up) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(up.router_url + "/version") as response:
        return str((await response.json())["version"])
