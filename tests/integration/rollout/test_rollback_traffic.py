"""A rollback takes the traffic in the same tick: real requests through the embedded router (`Up` in this event
loop, real demo-app processes), a canary at 50 %, `rollout abort`. Every request is recorded with the time it was
sent and the version that answered; the router's per-backend counts (answered + in flight) are sampled every
10 ms. After the rollback decision no new request reaches the canary — only those already sent before it — and
the router's count for the canary stops growing, while the canary keeps running through its scale-down delay."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from greenflag.config import load_spec
from greenflag.rollout.model import Phase, Status
from greenflag.rollout.ops import status_json
from greenflag.rollout.up import Up
from tests.support import local_release, save_spec, wait_until_async

pytestmark = pytest.mark.timeout(120)

TICK_S = 0.1
SCALE_DOWN_S = 3.0  # the canary keeps running (and would keep serving, if its weight were kept) this long


def write_spec(tmp_path: Path) -> Path:
    strategy = {"canary": {"steps": [{"set_weight": 50}, {"pause": {}}], "abort_scale_down_delay": f"{SCALE_DOWN_S}s"}}
    spec = local_release(tmp_path, "cut", strategy=strategy, analysis={"interval": "200ms"},
                         state_dir=str(tmp_path / "state"))  # fmt: skip
    return save_spec(tmp_path, spec)


@dataclass
class Recorder:
    """Open-model GETs at `rate`/s; each request's send time (wall clock) and the version that answered."""

    url: str
    rate: float = 100.0
    sent: list[tuple[float, str]] = field(default_factory=list)  # (sent at, version or "error")
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _one(self, session: aiohttp.ClientSession) -> None:
        at = time.time()
        try:
            async with session.get(self.url) as response:
                await response.read()
                self.sent.append((at, response.headers.get("X-Greenflag-Version", f"status {response.status}")))
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.sent.append((at, f"error {type(exc).__name__}"))

    async def run(self, max_requests: int = 6000) -> None:
        tasks: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            start = time.monotonic()
            for i in range(max_requests):
                if self.stop.is_set():
                    break
                await asyncio.sleep(max(0.0, start + i / self.rate - time.monotonic()))
                task = asyncio.create_task(self._one(session))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)


async def sample_router(up: Up, name: str, out: list[tuple[float, int | None, int]], stop: asyncio.Event) -> None:
    """Every 10 ms: (time, the backend's weight, requests the router sent it: answered + in flight)."""
    while not stop.is_set():
        core = up.router.core
        backend = core.backends.get(name)
        series = core.stats.series.get(name)
        answered = sum(series.totals) if series is not None else 0
        in_flight = len(backend.in_flight) if backend is not None else 0
        out.append((time.time(), up.router.weights().get(name), answered + in_flight))
        await asyncio.sleep(0.01)


async def test_after_the_rollback_decision_no_request_reaches_the_canary(tmp_path: Path) -> None:
    up = Up(load_spec(write_spec(tmp_path)), tick_s=TICK_S)
    async with up.running():
        assert (await up.rollout("v1", timeout=60)).phase is Phase.HEALTHY
        load = Recorder(up.router_url + "/about")
        samples: list[tuple[float, int | None, int]] = []
        stop_sampling = asyncio.Event()
        traffic = asyncio.create_task(load.run())
        sampler = asyncio.create_task(sample_router(up, "v2", samples, stop_sampling))
        try:
            controller = up.controller
            assert controller is not None
            started = controller.start("v2")

            async def canary_serving() -> bool:
                status = controller.store.load(started.rollout_id)
                return status is not None and status.phase is Phase.PAUSED and sum(
                    1 for _, v in load.sent if v == "v2") >= 50  # fmt: skip

            await wait_until_async(canary_serving, timeout=60, interval=0.05, what="v2 at 50 % and serving")
            controller.store.post_command(started.rollout_id, "abort")

            async def rolled_back() -> bool:
                status = controller.store.load(started.rollout_id)
                return status is not None and status.aborted

            await wait_until_async(rolled_back, timeout=10, interval=0.01, what="the rollback decision")
            degraded = controller.store.load(started.rollout_id)
            assert degraded is not None
            shown = status_json(degraded, await controller.router.observe())
            await asyncio.sleep(SCALE_DOWN_S / 2)  # still inside the scale-down delay: v2 runs, gets nothing
            assert "v2" in {i.version for i in await controller.platform.instances()}
        finally:
            load.stop.set()
            await traffic
            stop_sampling.set()
            await sampler
        final = await _done(up, started.rollout_id)

    decision = next(e for e in final.events if e.kind == "rollback")
    read_back = next(e for e in final.events if e.kind == "router" and e.time >= decision.time)
    trace = [(round(e.time - decision.time, 3), e.kind, e.message) for e in final.events if e.time >= decision.time]
    print("rollback trace (seconds after the decision):", *trace, sep="\n  ")

    # the client: every answer from v2 belongs to a request sent before the decision
    before = sum(1 for at, v in load.sent if v == "v2" and at <= decision.time)
    routed = sorted({n for at, _, n in samples if at >= decision.time})
    print(f"client: v2 answered {before} requests sent before the decision, "
          f"{sum(1 for at, v in load.sent if v == 'v2' and at > decision.time)} sent after; v1 answered "
          f"{sum(1 for at, v in load.sent if v == 'v1' and at > decision.time)} sent after; router's v2 count "
          f"(answered + in flight) from the decision on: {routed}")  # fmt: skip
    late = [(round(at - decision.time, 3), v) for at, v in load.sent if v == "v2" and at > decision.time]
    assert late == [], f"requests sent after the rollback decision reached the canary: {late[:10]}"
    after = [v for at, v in load.sent if at > decision.time]
    assert after.count("v1") > 50 and set(after) == {"v1"}, "the load went on, all of it to v1"
    assert sum(1 for _, v in load.sent if v == "v2") >= 50

    # the journal: the router's read-back at the decision tick holds the canary at 0
    assert read_back.message == "router holds v1 100, v2 0 (read back)", trace
    assert read_back.time - decision.time < TICK_S, "read back in the same tick as the decision"
    # `rollout status` shows what the router holds, not what the rollout intends
    assert (shown["weights"], shown["weights_source"], shown["weights_differ"]) == ({"v1": 100, "v2": 0}, "router",
                                                                                      False)  # fmt: skip

    # the router: from the decision on, v2's weight is 0 and its count (answered + in flight) no longer grows
    later = [(at, weight, n) for at, weight, n in samples if at >= decision.time and weight is not None]
    assert len(later) > 20, "sampled through the scale-down delay"
    assert {weight for _, weight, _ in later} == {0}
    assert len({n for _, _, n in later}) == 1, f"the router sent v2 more requests after the decision: {later[:3]}"


async def _done(up: Up, rollout_id: int) -> Status:
    controller = up.controller
    assert controller is not None

    async def done() -> bool:
        status = controller.store.load(rollout_id)
        return status is not None and status.done

    await wait_until_async(done, timeout=30, interval=0.05, what="the rollback to end")
    final = controller.store.load(rollout_id)
    assert final is not None and (final.phase, final.stable) == (Phase.ROLLED_BACK, "v1")
    return final
