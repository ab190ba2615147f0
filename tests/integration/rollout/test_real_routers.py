"""The whole release through real routers: a canary of a bad version, rolled back by the built-in analysis, through
a real HAProxy (driven by `greenflag up`) and through a real nginx (driven by the in-process controller of
`greenflag rollout start --wait`), with the reference service as both versions launched by the process platform,
under load from greenflag's load engine (PacedLoad, keep-alive).

Each asserts: no request failed because of a switch (no transport failure, no 5xx that the router made up, no 5xx
from the good version; the bad version's injected 500s are the point), the rollback was read back from the router,
and, measured, nothing sent after the rollback's `apply` returned reached the bad version. The counts are printed
(one JSON line on stderr) for the docs and the report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from greenflag.config import load_spec
from greenflag.load.engine.paced import PacedLoad
from greenflag.rollout.model import Phase, Status
from greenflag.rollout.runtime import run_rollout
from greenflag.rollout.up import Up
from greenflag.spec import HAProxyRouterSpec
from greenflag.traffic import registry
from greenflag.traffic.base import Router, Weights
from greenflag.traffic.haproxy_config import render_haproxy_config
from tests.servers import haproxy_router, haproxy_server, nginx_for, nginx_spec
from tests.support import free_port, local_release, save_spec, until_answered

pytestmark = pytest.mark.timeout(180)

# the canary gets 30 %, is analysed for 4 s (the built-in error-rate and latency rules against the stable), then
# 60 % and 100 %; v2 answers 30 % of its application requests with 500: the analysis must roll it back
STRATEGY = {
    "canary": {
        "steps": [{"set_weight": 30}, {"analysis": {"duration": "4s"}}, {"set_weight": 60}, {"set_weight": 100}],
        "abort_scale_down_delay": "500ms",
    }
}
RATE = 100  # requests per second through the router


class Recording:
    """The real driver, with the time each `apply` returned (monotonic) and what it applied: the rollback's tick."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.applied: list[tuple[float, Weights]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.router, name)

    async def apply(self, weights: Weights) -> None:
        await self.router.apply(weights)
        self.applied.append((time.monotonic(), dict(weights)))

    def rollback_at(self, bad: str) -> float:
        """When the first apply that took `bad` back to 0 (after it had traffic) returned."""
        had = False
        for at, weights in self.applied:
            if weights.get(bad, 0) > 0:
                had = True
            elif had:
                return at
        raise AssertionError(f"no apply took {bad} back to 0: {self.applied}")


def write_spec(tmp: Path, router: dict[str, Any]) -> Path:
    spec = local_release(tmp, router=router, strategy=STRATEGY, analysis={"interval": "200ms", "window": "3s"},
                         state_dir=str(tmp / "state"))  # fmt: skip
    (tmp / "v2.args").write_text("--error-rate 0.3")
    return save_spec(tmp, spec)


def check(load: PacedLoad, recording: Recording, final: Status, url: str, kind: str) -> dict[str, Any]:
    assert final.phase is Phase.ROLLED_BACK and (final.stable, final.weights) == ("v1", {"v1": 100}), final.events
    rollback = next(e for e in final.events if e.kind == "rollback")
    assert rollback.trigger == "error_rate", rollback
    t = recording.rollback_at("v2")
    before = Counter(f"{v} {s // 100}xx" if s else v for sent, _, v, s in load.log if sent <= t)
    after = Counter(f"{v} {s // 100}xx" if s else v for sent, _, v, s in load.log if sent > t)
    in_flight = sum(1 for sent, done, v, _ in load.log if sent <= t < done and v == "v2")
    summary = {
        "router": kind, "url": url, "requests": len(load.log), "rate": RATE,
        "failed_by_switches": load.counts["transport"] + sum(n for k, n in load.counts.items() if k.startswith("? ")),
        "before_rollback": dict(before), "after_rollback": dict(after), "v2_in_flight_at_rollback": in_flight,
        "rollback": {"trigger": rollback.trigger, "value": rollback.value, "limit": rollback.limit},
    }  # fmt: skip
    print("RELEASE " + json.dumps(summary, sort_keys=True), file=sys.stderr)
    assert load.counts["transport"] == 0, load.counts  # nothing lost on a connection
    assert not any(k.startswith("? ") for k in load.counts), load.counts  # no error made up by the router
    assert load.counts["v1 5xx"] == 0, load.counts  # the good version never failed
    assert before["v2 5xx"] > 0 and before["v2 2xx"] > 0, before  # the canary had real traffic (and failed)
    assert after["v1 2xx"] > RATE and set(after) == {"v1 2xx"}, after  # 100 % on stable after the rollback tick
    return summary


@pytest.fixture
def haproxy_setup(tmp_path: Path) -> Callable[[], Any]:
    router = haproxy_router(tmp_path, listen=f"127.0.0.1:{free_port()}", drain_timeout="2s")
    return lambda: write_spec(tmp_path, router)


async def test_a_bad_canary_through_haproxy_is_rolled_back_by_up_with_no_failed_request(
    tmp_path: Path, haproxy_setup: Callable[[], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_file = haproxy_setup()
    spec = load_spec(spec_file)
    assert isinstance(spec.router, HAProxyRouterSpec) and spec.router.listen is not None
    port = int(spec.router.listen.rpartition(":")[2])
    config = render_haproxy_config(spec.router, listen=spec.router.listen, check_path="/healthz/ready")
    recordings: list[Recording] = []
    real = registry.make_router

    def recorded(router_spec: Any, **options: Any) -> Router:
        recordings.append(Recording(real(router_spec, **options)))
        return recordings[-1]  # type: ignore[return-value]

    monkeypatch.setattr(registry, "make_router", recorded)
    with haproxy_server(config, tmp_path, port):
        up = Up(spec, tick_s=0.1)
        async with up.running():
            assert up.router is None and up.admin_url is None  # no embedded router started for kind: haproxy
            first = await up.rollout("v1", timeout=60)
            assert (first.phase, first.stable) == (Phase.HEALTHY, "v1")
            async with paced(up.router_url) as load:
                final = await up.rollout("v2", timeout=90)
                await until_answered(load, int(1.5 * RATE))  # keep measuring after the rollback
            recording = recordings[0]
            assert await recording.observe() == {"v1": 100}  # read back (v2 scaled down, its slot drained)
        check(load, recording, final, up.router_url, "haproxy")


async def test_a_bad_canary_through_nginx_is_rolled_back_with_no_failed_request_through_the_reloads(
    tmp_path: Path,
) -> None:
    servers = {"blue": f"127.0.0.1:{free_port()}", "green": f"127.0.0.1:{free_port()}"}  # nothing runs there yet
    router, port = nginx_spec(tmp_path, servers, drain_timeout="5s")
    spec_file = write_spec(tmp_path, router)
    with nginx_for(spec_file, tmp_path):
        spec = load_spec(spec_file)
        url = f"http://127.0.0.1:{port}"
        recording = Recording(registry.make_router(spec.router))
        try:
            first = await run_rollout(spec, "v1", router=recording, tick_s=0.1)  # type: ignore[arg-type]
            assert (first.phase, first.stable) == (Phase.HEALTHY, "v1")
            async with paced(url) as load:
                final = await run_rollout(load_spec(spec_file), "v2", router=recording, tick_s=0.1)  # type: ignore[arg-type]
                await until_answered(load, int(1.5 * RATE))
            assert await recording.observe() == {"v1": 100}
        finally:
            await recording.aclose()
            await stop_instances(spec_file)
        check(load, recording, final, url, "nginx")


async def stop_instances(spec_file: Path) -> None:
    from greenflag.platform.registry import make_platform
    from greenflag.rollout.runtime import resolve_paths
    from greenflag.rollout.store import Store

    spec = resolve_paths(load_spec(spec_file))
    platform = make_platform(spec, Store.for_state_dir(spec.state_dir))
    await platform.stop_all(grace_s=3)  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def paced(url: str) -> AsyncIterator[PacedLoad]:
    """PacedLoad at RATE through `url` while inside (bounded: 10,000 requests at most), recording each request."""
    load = PacedLoad(url + "/about", RATE, record=True)
    task = asyncio.create_task(load.run(max_requests=10_000))
    try:
        yield load
    finally:
        load.stop.set()
        await task
