"""The controller loop against the public fakes: FakeClock, FakeRouter, FakePlatform (no processes, no sleeps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from greenflag.rollout.controller import Controller
from greenflag.rollout.model import Phase
from greenflag.rollout.store import Store
from greenflag.spec import Spec
from greenflag.testing import FakeClock, FakePlatform, FakeProbe, FakeRouter


def make(tmp_path: Path, **strategy: Any) -> tuple[Controller, FakeRouter, FakePlatform]:
    spec = Spec.model_validate(
        {
            "service": "svc",
            "strategy": strategy or {"canary": {"steps": [{"set_weight": 10}, {"pause": {"duration": "10s"}}]}},
            "state_dir": str(tmp_path),
        }
    )
    router, platform = FakeRouter(), FakePlatform()
    probe = FakeProbe()  # every probe passes (the gates are tested with real servers elsewhere)
    controller = Controller(
        spec, router=router, platform=platform, store=Store(tmp_path / "state.db"), clock=FakeClock(),
        probes=lambda _: probe,
    )  # fmt: skip
    return controller, router, platform


async def deploy(controller: Controller, version: str) -> Any:
    controller.start(version)
    return await controller.run()


async def test_initial_deployment_then_canary_promotes(tmp_path: Path) -> None:
    controller, router, platform = make(tmp_path)
    first = await deploy(controller, "v1")
    assert (first.phase, first.stable, router.weights) == (Phase.HEALTHY, "v1", {"v1": 100})
    final = await deploy(controller, "v2")
    assert (final.phase, final.stable, final.previous) == (Phase.HEALTHY, "v2", "v1")
    assert {"v1": 90, "v2": 10} in router.applied
    assert router.weights == {"v2": 100} and set(router.backends) == {"v2"}
    assert platform.stopped == ["v1"] and router.header_route is None


async def test_abort_sends_everything_to_stable_in_the_same_tick(tmp_path: Path) -> None:
    controller, router, platform = make(tmp_path)
    await deploy(controller, "v1")
    status = controller.start("v2")
    while (status := await controller.tick()).phase is not Phase.PAUSED:  # type: ignore[union-attr]
        pass
    assert router.weights == {"v1": 90, "v2": 10}
    controller.store.post_command(status.rollout_id, "abort")
    status = await controller.tick()
    assert status is not None and status.phase is Phase.DEGRADED
    assert router.weights == {"v1": 100, "v2": 0}  # v2 is still a backend, at 0 (not left out)
    final = await controller.run()
    assert (final.phase, final.stable, platform.stopped) == (Phase.ROLLED_BACK, "v1", ["v2"])


async def test_a_version_that_cannot_launch_rolls_back(tmp_path: Path) -> None:
    controller, router, platform = make(tmp_path)
    await deploy(controller, "v1")
    platform.fail_launch.add("v2")
    final = await deploy(controller, "v2")
    rollback = next(e for e in final.events if e.kind == "rollback")
    assert (final.phase, rollback.trigger, router.weights) == (Phase.ROLLED_BACK, "launch", {"v1": 100})


async def test_a_canary_that_dies_loses_its_traffic(tmp_path: Path) -> None:
    controller, router, platform = make(tmp_path)
    await deploy(controller, "v1")
    controller.start("v2")
    while router.weights.get("v2", 0) == 0:
        await controller.tick()
    platform.dead.add("v2")
    status = await controller.tick()
    assert status is not None and router.weights == {"v1": 100}
    assert next(e for e in status.events if e.kind == "rollback").trigger == "instances"


async def test_router_state_is_reapplied_after_a_restart(tmp_path: Path) -> None:
    controller, _, platform = make(tmp_path)
    await deploy(controller, "v1")
    fresh_router = FakeRouter()
    again = Controller(controller.spec, router=fresh_router, platform=platform, store=controller.store,
                       clock=FakeClock(), probes=lambda _: FakeProbe())  # fmt: skip
    await again.tick()
    assert fresh_router.weights == {"v1": 100} and set(fresh_router.backends) == {"v1"}
