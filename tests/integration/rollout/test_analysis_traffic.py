"""Analysis traffic end to end: `Up` (embedded router, process platform, controller), real demo-app versions and NO
users — the canary is judged on the synthetic requests greenflag sends to it and to the stable alone.

What is checked: a faulty canary is rolled back on analysis traffic, a healthy one promoted; the router counts that
traffic apart (never as users'); it stops on the tick of a rollback, an abort or a promotion; blue-green's
pre-promotion analysis is judged on it; a restarted controller starts it again for the current step."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenflag.config import load_spec
from greenflag.rollout.model import Phase, Status
from greenflag.rollout.runtime import InProcessRouter, make_controller
from greenflag.rollout.up import Up
from greenflag.spec import RouterSpec
from greenflag.traffic.embedded.server import EmbeddedRouter
from tests.support import free_port, wait_until_async

pytestmark = pytest.mark.timeout(180)

TRAFFIC = {"urls": ["/about", "/pricing"], "rate": 40, "judge": "synthetic"}


def write_spec(tmp_path: Path, strategy: dict[str, Any], traffic: dict[str, Any] = TRAFFIC) -> Path:
    command = (
        f"sh -c 'exec {sys.executable} -m greenflag demo-app --port {{port}} --version {{version}} "
        "$(cat {version}.args 2>/dev/null)'"
    )
    spec = {
        "service": "shop",
        "router": {"listen": f"127.0.0.1:{free_port()}", "admin": f"127.0.0.1:{free_port()}"},
        "platform": {"command": command, "stop_grace": "3s", "start_timeout": "40s", "cwd": str(tmp_path)},
        "health": {"readiness": {"http": "/healthz/ready", "interval": "100ms"}},
        "strategy": strategy,
        "analysis": {"interval": "200ms", "window": "3s", "on_inconclusive": "rollback", "traffic": traffic},
    }
    path = tmp_path / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


CANARY = {
    "canary": {
        "steps": [{"set_weight": 10}, {"analysis": {"duration": "12s"}}, {"set_weight": 100}],
        "abort_scale_down_delay": "300ms",
    }
}


@contextlib.asynccontextmanager
async def running(tmp_path: Path, strategy: dict[str, Any] = CANARY) -> AsyncIterator[Up]:
    up = Up(load_spec(write_spec(tmp_path, strategy)), tick_s=0.1)
    async with up.running():
        yield up


def synthetic(up: Up, version: str) -> tuple[int, int]:
    """(the analysis traffic's requests at `version`, users' requests there), over the router's 300 s."""
    window = up.router.stats(300.0).get(version)
    if window is None:
        return 0, 0
    return window.part("synthetic").requests, window.part("user").requests


async def until(condition: Any, what: str, timeout: float = 30.0) -> None:
    async def check() -> bool:
        return bool(condition())

    await wait_until_async(check, timeout=timeout, what=what)


def traffic_events(status: Status) -> list[str]:
    return [e.message for e in status.events if e.kind == "traffic"]


async def test_faulty_canary_is_rolled_back_on_analysis_traffic_alone(tmp_path: Path) -> None:
    (tmp_path / "v2.args").write_text("--error-rate 0.1")
    async with running(tmp_path) as up:
        assert (await up.rollout("v1")).phase is Phase.HEALTHY
        bad = await up.rollout("v2")
        assert (bad.phase, bad.stable) == (Phase.ROLLED_BACK, "v1")
        rollback = next(e for e in bad.events if e.kind == "rollback")
        assert rollback.trigger == "error_rate" and "[analysis traffic only]" in rollback.message
        sent = synthetic(up, "v2")
        assert sent[0] > 0 and sent[1] == 0, sent  # the router counted it apart; no user ever reached v2
        assert synthetic(up, "v1")[0] > 0  # the stable got its share: a paired comparison
        said = traffic_events(bad)
        assert said[0].startswith("analysis traffic: 40/s to each of the canary (v2) and the stable (v1)"), said
        assert said[-1].startswith("analysis traffic stopped: the analysis run ended") and "to v2" in said[-1]
        stopped = next(e for e in bad.events if e.kind == "traffic" and "stopped" in e.message)
        assert stopped.time - rollback.time < 0.5  # on the rollback's tick (the tick is 100 ms)
        await asyncio.sleep(1.0)  # nothing more reaches the rolled-back version
        assert synthetic(up, "v2") == sent


async def test_healthy_canary_promotes_and_the_traffic_stops_with_the_promotion(tmp_path: Path) -> None:
    async with running(tmp_path) as up:
        await up.rollout("v1")
        good = await up.rollout("v3")
        assert (good.phase, good.stable) == (Phase.HEALTHY, "v3"), good.abort_reason
        measured = good.analysis["step:1"]["metrics"]["error_rate"]["last"]
        assert measured["verdict"] == "Successful" and "[analysis traffic only]" in measured["message"]
        before = synthetic(up, "v1")[0]
        assert before > 0 and traffic_events(good)[-1].startswith("analysis traffic stopped")
        await asyncio.sleep(1.0)
        assert synthetic(up, "v1")[0] == before  # the old stable (stopped since) gets nothing more


async def test_abort_stops_the_traffic_on_its_tick(tmp_path: Path) -> None:
    slow = {"canary": {"steps": [{"set_weight": 10}, {"analysis": {"duration": "60s"}}, {"set_weight": 100}],
                       "abort_scale_down_delay": "300ms"}}  # fmt: skip
    async with running(tmp_path, slow) as up:
        await up.rollout("v1")
        assert up.controller is not None
        waiting = asyncio.create_task(up.rollout("v4", timeout=90))
        await until(lambda: synthetic(up, "v4")[0] > 40, "analysis traffic at v4")
        from greenflag.rollout.ops import post_command

        post_command(up.controller.store, "shop", "abort")
        final = await waiting
        assert final.phase is Phase.ROLLED_BACK
        rollback = next(e for e in final.events if e.kind == "rollback")
        stopped = next(e for e in final.events if e.kind == "traffic" and "stopped" in e.message)
        assert rollback.trigger == "abort" and stopped.time - rollback.time < 0.5
        sent = synthetic(up, "v4")
        await asyncio.sleep(1.0)
        assert synthetic(up, "v4") == sent


async def test_blue_green_pre_promotion_analysis_is_judged_on_analysis_traffic(tmp_path: Path) -> None:
    (tmp_path / "v6.args").write_text("--error-rate 0.3")
    strategy = {"blue_green": {"pre_promotion_analysis": {"duration": "8s"}, "scale_down_delay": "300ms"}}
    async with running(tmp_path, strategy) as up:
        await up.rollout("v1")
        good = await up.rollout("v5")  # no users at all: without analysis traffic this would be Inconclusive
        assert (good.phase, good.stable) == (Phase.HEALTHY, "v5"), good.abort_reason
        bad = await up.rollout("v6")
        assert (bad.phase, bad.stable) == (Phase.ROLLED_BACK, "v5")
        assert next(e for e in bad.events if e.kind == "rollback").trigger == "error_rate"
        assert not any(e.kind == "step" and "100 %" in e.message for e in bad.events), "v6 never got users"


async def test_a_restarted_controller_restarts_the_traffic_for_the_current_step(tmp_path: Path) -> None:
    slow = {"canary": {"steps": [{"set_weight": 10}, {"analysis": {"duration": "60s"}}, {"set_weight": 100}],
                       "abort_scale_down_delay": "300ms"}}  # fmt: skip
    spec = load_spec(write_spec(tmp_path, slow))
    router = EmbeddedRouter(RouterSpec(listen="127.0.0.1:0"), admin=False)
    await router.start()
    first = make_controller(spec, router=InProcessRouter(router), tick_s=0.1)
    try:
        first.start("v1")
        assert (await first.run()).phase is Phase.HEALTHY
        first.start("v2")
        for _ in range(600):
            status = await first.tick()
            window = router.stats(300).get("v2")
            if status is not None and status.stage == "step:1" and window and window.part("synthetic").requests > 20:
                break
            await asyncio.sleep(0.1)
        load = first.synthetic.load
        assert load is not None and load.running
        for run in load.runs:  # the controller's process dies: its tasks with it, nothing journaled
            assert run.task is not None
            run.task.cancel()
        await until(lambda: all(run.task is not None and run.task.done() for run in load.runs), "the tasks gone", 5)
        before = router.stats(300)["v2"].part("synthetic").requests
        second = make_controller(spec, router=InProcessRouter(router), tick_s=0.1)
        second.attach()
        status = await second.tick()
        assert second.synthetic.load is not None and second.synthetic.load.running
        await until(lambda: router.stats(300)["v2"].part("synthetic").requests > before + 20, "traffic again", 10)
        assert status is not None and len([m for m in traffic_events(status) if m.startswith("analysis traffic:")]) == 2
        from greenflag.rollout.ops import post_command

        post_command(second.store, "shop", "abort")
        final = await second.run()
        assert final.phase is Phase.ROLLED_BACK
        await second.aclose()
        stop_all = getattr(second.platform, "stop_all", None)
        if stop_all is not None:
            await stop_all()
    finally:
        await router.stop(grace=1.0)
