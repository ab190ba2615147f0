"""What only the router knows, in the rollout loop (FakeClock, FakePlatform): a version is stopped only after the
router's drain time, and it is ready only when the router's own health checks agree with its probes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from greenflag.rollout.controller import Controller
from greenflag.rollout.model import Phase
from greenflag.rollout.store import Store
from greenflag.spec import Spec
from greenflag.testing import FakeClock, FakePlatform, FakeProbe, FakeRouter
from greenflag.traffic.base import BackendHealth, DrainTimes, HealthReporter

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


def make(tmp_path: Path, router: FakeRouter, **strategy: Any) -> tuple[Controller, FakePlatform, FakeClock]:
    spec = Spec.model_validate({"service": "svc", "state_dir": str(tmp_path), "platform": PLATFORM,
                                "analysis": {"defaults": False},
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
