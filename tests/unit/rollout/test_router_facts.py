"""What only the router knows, in the rollout loop (FakeClock, FakePlatform): a version is stopped only after the
router's drain time and once the router has no request open on it, and it is ready only when the router's own
health checks agree with its probes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from greenflag.rollout.controller import Controller
from greenflag.rollout.model import Phase
from greenflag.rollout.store import Store
from greenflag.spec import Spec
from greenflag.testing import FakeClock, FakePlatform, FakeProbe, FakeRouter
from greenflag.traffic.base import BackendHealth, DrainTimes, HealthReporter, OpenRequests

PLATFORM = {"command": "app --port {port}"}  # every spec says how a version starts


class DrainingRouter(FakeRouter):
    """A FakeRouter whose backends drain for `drain` seconds and whose health checks pass for `healthy` names."""

    def __init__(self, drain: float) -> None:
        super().__init__()
        self.drain = drain
        self.healthy: set[str] = set()
        self.asked: list[dict[str, str]] = []

    async def drain_times(self) -> dict[str, float]:
        return {"blue": self.drain, "green": 1.0}

    async def backend_health(self, backends: dict[str, str] | None = None) -> dict[str, BackendHealth]:
        self.asked.append(dict(backends or {}))
        return {n: BackendHealth(n, n in self.healthy, "healthy" if n in self.healthy else "0/1 healthy")
                for n in backends or {}}  # fmt: skip


def make(tmp_path: Path, router: FakeRouter, drain_timeout: str = "30s",
         **strategy: Any) -> tuple[Controller, FakePlatform, FakeClock]:  # fmt: skip
    spec = Spec.model_validate({"service": "svc", "state_dir": str(tmp_path), "platform": PLATFORM,
                                "analysis": {"defaults": False}, "router": {"drain_timeout": drain_timeout},
                                "strategy": strategy or {"canary": {"steps": [{"set_weight": 50}]}}})  # fmt: skip
    platform, clock, probe = FakePlatform(), FakeClock(), FakeProbe()
    controller = Controller(spec, router=router, platform=platform, store=Store(tmp_path / "state.db"), clock=clock,
                            probes=lambda _: probe)  # fmt: skip
    return controller, platform, clock


async def test_the_old_version_is_stopped_only_after_the_drain_time(tmp_path: Path) -> None:
    router = DrainingRouter(drain=20.0)
    assert isinstance(router, DrainTimes)
    router.healthy = {"v1", "v2"}
    controller, platform, clock = make(tmp_path, router)
    controller.start("v1")
    await controller.run()
    controller.start("v2")
    status = await controller.tick()
    for _ in range(200):
        if status is not None and status.phase is Phase.HEALTHY:
            break
        status = await controller.tick()
        clock.advance(0.2)
    assert status is not None and status.phase is Phase.HEALTHY, status and status.events[-1]
    promoted = clock.monotonic()
    while "v1" not in platform.stopped:
        status = await controller.tick()
        clock.advance(0.5)
        assert clock.monotonic() - promoted < 30, "v1 never stopped"
    assert clock.monotonic() - promoted >= 20.0  # the longest drain time of the router's backends
    assert status is not None
    (note,) = [e for e in status.events if e.kind == "draining"]
    assert note.message == "v1 is stopped in 20s (the router's drain time)"


async def test_a_version_is_ready_only_when_the_router_says_so(tmp_path: Path) -> None:
    router = DrainingRouter(drain=0.0)
    assert isinstance(router, HealthReporter)
    router.healthy = {"v1"}
    controller, _, clock = make(tmp_path, router)
    controller.start("v1")
    await controller.run()
    controller.start("v2")
    for _ in range(30):  # the probes pass; the router's health checks do not
        status = await controller.tick()
        clock.advance(0.2)
    assert status is not None and status.stage == "ready" and router.weights.get("v2", 0) == 0
    assert router.asked[-1] == {"v2": "http://fake.invalid/v2/0"}  # asked by address, before it takes traffic
    assert len(router.asked) <= 30 * 0.2 / 2 + 2  # at most every 2 s
    router.healthy.add("v2")
    final = await controller.run()
    assert final.phase is Phase.HEALTHY and final.stable == "v2"


async def test_a_version_the_router_never_finds_healthy_fails_its_start_timeout(tmp_path: Path) -> None:
    router = DrainingRouter(drain=0.0)
    router.healthy = {"v1"}
    controller, platform, _ = make(tmp_path, router)
    controller.start("v1")
    await controller.run()
    controller.start("v2")
    final = await controller.run()  # the FakeClock's sleeps move time past platform.start_timeout
    rollback = next(e for e in final.events if e.kind == "rollback")
    assert (final.phase, rollback.trigger, rollback.value) == (Phase.ROLLED_BACK, "readiness", "not ready")
    assert router.weights == {"v1": 100} and platform.stopped == ["v2"]


class CountingRouter(FakeRouter):
    """A FakeRouter that counts the requests open on each backend (`open`), as the embedded router and HAProxy do;
    with `broken`, asking raises (an admin API that cannot be reached)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: dict[str, int] = {}
        self.broken = False
        self.asked = 0

    async def open_requests(self) -> dict[str, int]:
        self.asked += 1
        if self.broken:
            raise ConnectionError("router admin API unreachable")
        return dict(self.open)


async def promoted(tmp_path: Path, router: CountingRouter,
                   drain_timeout: str = "30s") -> tuple[Controller, FakePlatform, FakeClock]:  # fmt: skip
    """v1 serves, v2 is rolled out and promoted (the tick that promoted it is the scale-down stage's first)."""
    controller, platform, clock = make(tmp_path, router, drain_timeout)
    controller.start("v1")
    await controller.run()
    controller.start("v2")
    for _ in range(200):
        status = await controller.tick()
        if status is not None and status.phase is Phase.HEALTHY:
            return controller, platform, clock
        clock.advance(0.2)
    raise AssertionError("v2 was never promoted")


async def ticks_until_stopped(controller: Controller, platform: FakePlatform, clock: FakeClock, version: str,
                              *, most_s: float, step: float = 0.5) -> float:  # fmt: skip
    """Tick until `version` is stopped (at most `most_s` of clock time); the clock time it took."""
    started = clock.monotonic()
    await controller.tick()
    while version not in platform.stopped:
        clock.advance(step)
        assert clock.monotonic() - started <= most_s, f"{version} never stopped"
        await controller.tick()
    return clock.monotonic() - started


async def test_the_old_version_is_stopped_once_the_router_has_no_request_open_on_it(tmp_path: Path) -> None:
    router = CountingRouter()
    assert isinstance(router, OpenRequests)
    router.open = {"v1": 3, "v2": 7}
    controller, platform, clock = await promoted(tmp_path, router)
    for _ in range(10):  # 5 s with 3 requests still open on v1: it keeps running
        status = await controller.tick()
        clock.advance(0.5)
    assert "v1" not in platform.stopped and status is not None
    (note,) = [e for e in status.events if e.kind == "draining"]
    assert note.message == ("v1 is stopped when the router has no request open on it (3 now), at most 30s after it "
                            "lost its traffic (router.drain_timeout)")  # fmt: skip
    router.open["v1"] = 0  # v2's open requests play no part
    assert await ticks_until_stopped(controller, platform, clock, "v1", most_s=0.5) == 0.0  # the very next tick
    final = await controller.run()
    assert final.stable == "v2" and platform.stopped == ["v1"]


async def test_requests_that_never_end_hold_the_old_version_for_the_drain_timeout_at_most(tmp_path: Path) -> None:
    router = CountingRouter()
    router.open = {"v1": 1}  # an open stream
    controller, platform, clock = await promoted(tmp_path, router, drain_timeout="4s")
    waited = await ticks_until_stopped(controller, platform, clock, "v1", most_s=10, step=0.25)
    assert 3.5 <= waited <= 4.25  # 4 s after the stage began (the promotion tick), within a tick


async def test_a_rolled_back_canary_is_stopped_once_its_open_requests_have_ended(tmp_path: Path) -> None:
    router = CountingRouter()
    router.open = {"v2": 2}
    controller, platform, clock = make(tmp_path, router, canary={"steps": [{"set_weight": 50}, {"pause": {}}]})
    controller.start("v1")
    await controller.run()
    status = controller.start("v2")
    while status.phase is not Phase.PAUSED:
        status = await controller.tick() or status
        clock.advance(0.2)
    controller.store.post_command(status.rollout_id, "abort")
    await controller.tick()
    waited = 0.0
    while waited < 15 and "v2" not in platform.stopped:  # abort_scale_down_delay (5 s), then the open requests
        await controller.tick()
        clock.advance(0.5)
        waited += 0.5
    assert "v2" not in platform.stopped and router.weights.get("v2", 0) == 0
    router.open = {}
    await ticks_until_stopped(controller, platform, clock, "v2", most_s=0.5)


async def test_a_router_that_cannot_say_does_not_hold_the_old_version(tmp_path: Path) -> None:
    router = CountingRouter()
    router.open, router.broken = {"v1": 5}, True
    controller, platform, clock = await promoted(tmp_path, router)
    await ticks_until_stopped(controller, platform, clock, "v1", most_s=0.5)  # as without the capability
    assert router.asked >= 1


async def test_the_router_is_asked_for_open_requests_only_while_a_version_is_being_stopped(tmp_path: Path) -> None:
    router = CountingRouter()
    controller, _, _ = await promoted(tmp_path, router)
    assert router.asked == 0  # not before the scale-down stage
    await controller.tick()
    assert router.asked == 1
