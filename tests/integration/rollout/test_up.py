"""Rollouts end to end in one event loop: `Up` (embedded router + process platform + controller + API),
real demo-app processes, real load through the router, hooks appending to a file, a webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from greenflag.config import load_spec
from greenflag.load.engine.paced import PacedLoad
from greenflag.rollout.model import Phase, Status
from greenflag.rollout.up import Up
from tests.support import free_port, local_release, save_spec, wait_until_async

pytestmark = pytest.mark.timeout(120)

HOOKS = ("before_install", "after_install", "after_allow_test_traffic", "before_allow_traffic", "after_allow_traffic")


def write_spec(tmp_path: Path, strategy: dict[str, Any], webhook: str) -> Path:
    hooks: dict[str, Any] = {name: [f"echo {name} $GREENFLAG_VERSION >> hooks.txt"] for name in HOOKS}
    hooks["on_rollback"] = ["echo on_rollback $GREENFLAG_VERSION >> hooks.txt"]
    spec = local_release(
        tmp_path,
        health={
            "readiness": {"http": "/healthz/ready", "interval": "100ms"},
            "liveness": {"http": "/healthz/live", "interval": "300ms"},
        },
        strategy=strategy,
        analysis={"interval": "200ms", "window": "3s"},
        hooks=hooks,
        notifications=[{"webhook": webhook, "events": ["rollout_completed", "rollout_aborted"]}],
    )
    return save_spec(tmp_path, spec)


@dataclass
class Env:
    up: Up
    tmp: Path
    webhooks: list[dict[str, Any]]

    def hook_lines(self) -> list[str]:
        path = self.tmp / "hooks.txt"
        return path.read_text().splitlines() if path.exists() else []

    async def rollout(self, version: str, timeout: float = 60) -> Status:
        return await self.up.rollout(version, timeout=timeout)

    @contextlib.asynccontextmanager
    async def traffic(self, headers: dict[str, str] | None = None) -> AsyncIterator[PacedLoad]:
        """~50 requests/s through the router while inside (bounded: 3000 requests at most)."""
        load = PacedLoad(self.up.router_url + "/about", 50, headers=headers)
        task = asyncio.create_task(load.run(max_requests=3000))
        try:
            yield load
        finally:
            load.stop.set()
            await task


@contextlib.asynccontextmanager
async def running_up(tmp_path: Path, strategy: dict[str, Any]) -> AsyncIterator[Env]:
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    up = Up(load_spec(write_spec(tmp_path, strategy, f"http://127.0.0.1:{port}/hook")), tick_s=0.1)
    try:
        async with up.running():
            yield Env(up, tmp_path, received)
    finally:
        await runner.cleanup()


async def served_version(env: Env) -> str:
    async with aiohttp.ClientSession() as session, session.get(env.up.router_url + "/version") as response:
        return str((await response.json())["version"])


# 8 s of analysis at 50 % of ~50 req/s: the built-in sequential test needs about 95 clean canary requests to decide
# "not worse" (and a step that ends undecided is Inconclusive, not passed); a faulty canary fails much sooner
CANARY = {
    "canary": {
        "steps": [{"set_weight": 50}, {"analysis": {"duration": "8s"}}, {"set_weight": 70}, {"set_weight": 100}],
        "abort_scale_down_delay": "300ms",
    }
}


async def test_healthy_canary_promotes_with_hooks_in_order(tmp_path: Path) -> None:
    async with running_up(tmp_path, CANARY) as env:
        first = await env.rollout("v1")
        assert (first.phase, first.stable, first.initial) == (Phase.HEALTHY, "v1", True)
        async with env.traffic() as users:
            final = await env.rollout("v2")
        statuses = users.classes()
        assert final.phase is Phase.HEALTHY, [(e.kind, e.message) for e in final.events]
        assert (final.stable, final.weights, final.previous) == ("v2", {"v2": 100}, "v1")
        assert await served_version(env) == "v2"
        assert env.hook_lines()[-5:] == [f"{name} v2" for name in HOOKS]
        assert statuses["2xx"] > 50 and statuses["5xx"] == 0 and statuses["transport"] == 0
        assert [i.version for i in await env.up.controller.platform.instances()] == ["v2"]  # type: ignore[union-attr]
        measured = final.analysis["step:1"]["metrics"]["error_rate"]  # the built-in rule, judged against v1
        assert measured["measured"] > 0 and measured["failed"] == 0
        await wait_until_async(lambda: _has(env, "rollout_completed", "v2"), timeout=10, what="webhook")


async def _has(env: Env, event: str, version: str) -> bool:
    return any(w["event"] == event and w["version"] == version for w in env.webhooks)


async def test_faulty_canary_rolls_back_and_runs_on_rollback_hooks(tmp_path: Path) -> None:
    (tmp_path / "v2.args").write_text("--error-rate 0.3")
    async with running_up(tmp_path, CANARY) as env:
        await env.rollout("v1")
        async with env.traffic():
            final = await env.rollout("v2")
        assert (final.phase, final.stable, final.weights) == (Phase.ROLLED_BACK, "v1", {"v1": 100})
        rollback = next(e for e in final.events if e.kind == "rollback")
        assert rollback.trigger == "error_rate" and "SPRT: canary error rate above" in (rollback.limit or "")
        assert isinstance(rollback.value, float) and rollback.value > 0.01
        v2_lines = [line for line in env.hook_lines() if line.endswith(" v2")]
        assert v2_lines[-1] == "on_rollback v2"
        assert v2_lines[:4] == [f"{name} v2" for name in HOOKS[:4]]
        assert "after_allow_traffic v2" not in v2_lines
        assert await served_version(env) == "v1"
        assert [i.version for i in await env.up.controller.platform.instances()] == ["v1"]  # type: ignore[union-attr]
        await wait_until_async(lambda: _has(env, "rollout_aborted", "v2"), timeout=10, what="webhook")


# the preview gets ~50 req/s of test traffic: 3 s is enough evidence for the built-in tests to decide
BLUE_GREEN = {"blue_green": {"pre_promotion_analysis": {"duration": "3s"}, "scale_down_delay": "300ms"}}


async def test_blue_green_with_pre_promotion_analysis(tmp_path: Path) -> None:
    (tmp_path / "v3.args").write_text("--error-rate 0.5")
    async with running_up(tmp_path, BLUE_GREEN) as env:
        await env.rollout("v1")
        async with env.traffic(), env.traffic(headers={"X-Greenflag-Route": "preview"}):
            good = await env.rollout("v2")
            assert (good.phase, good.stable) == (Phase.HEALTHY, "v2")
            preview = good.analysis["step:0"]["metrics"]["error_rate"]
            assert preview["measured"] > 0, "the preview was analysed (test traffic)"
            bad = await env.rollout("v3")
        assert (bad.phase, bad.stable, bad.weights) == (Phase.ROLLED_BACK, "v2", {"v2": 100})
        assert next(e for e in bad.events if e.kind == "rollback").trigger == "error_rate"
        assert not any(e.kind == "step" and "100 %" in e.message for e in bad.events), "v3 never got users"
        assert await served_version(env) == "v2"


async def test_up_relaunches_a_stable_version_that_died(tmp_path: Path) -> None:
    import os
    import signal

    async with running_up(tmp_path, CANARY) as env:
        await env.rollout("v1")
        platform = env.up.controller.platform  # type: ignore[union-attr]
        (before,) = await platform.instances()
        os.kill(before.pid or 0, signal.SIGKILL)

        async def relaunched() -> bool:
            instances = await platform.instances()
            return len(instances) == 1 and instances[0].pid != before.pid and await served_version(env) == "v1"

        await wait_until_async(relaunched, timeout=40, interval=0.2, what="v1 relaunched and served")


async def test_the_old_version_is_stopped_only_once_its_open_requests_have_ended(tmp_path: Path) -> None:
    """v1 answers in 6 s and, on SIGTERM, drops what it is still answering (`--shutdown-timeout-s 0`, as a service
    without graceful shutdown would): the rollout waits until the router has no request open on v1 before it stops
    it, so not one request fails, though v1 still has requests open when v2 is promoted."""
    (tmp_path / "v1.args").write_text("--latency-ms 6000 --shutdown-timeout-s 0")
    spec = local_release(tmp_path, analysis={"defaults": False})  # one step: 100 % to v2, then promoted
    up = Up(load_spec(save_spec(tmp_path, spec)), tick_s=0.1)
    async with up.running():
        await up.rollout("v1", timeout=60)
        users = PacedLoad(up.router_url + "/about", 10, timeout_s=20)
        traffic = asyncio.create_task(users.run(max_requests=3000))
        await wait_until_async(lambda: _open_on(up, "v1", 10), timeout=20, what="10 requests open on v1")
        final = await up.rollout("v2", timeout=60)
        users.stop.set()
        await traffic
        assert final.phase is Phase.HEALTHY, [(e.kind, e.message) for e in final.events]
        statuses = users.classes()
        assert statuses["5xx"] == 0 and statuses["transport"] == 0, users.counts
        assert users.counts["v1 2xx"] >= 10 and users.counts["v2 2xx"] > 0
        (draining,) = [e for e in final.events if e.kind == "draining"]
        assert draining.message.startswith("v1 is stopped when the router has no request open on it (")
        (stopped,) = [e for e in final.events if e.kind == "scaled_down"]
        step = next(e for e in final.events if e.kind == "step")
        assert stopped.time - step.time < 6.0 + 3.0  # once v1's last answer was in, not at the 30 s drain timeout


async def _open_on(up: Up, name: str, n: int) -> bool:
    state = up.router.backend_states().get(name)
    return state is not None and int(state.in_flight) >= n
