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
            "platform": {"command": "app --port {port}"},
            "analysis": {"defaults": False},  # the loop, not the judgement (the fakes report no traffic)
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
    assert router.applied[-1] == {"v1": 100, "v2": 0}, "the canary is named with weight 0, not left out"
    assert status.router_weights == {"v1": 100, "v2": 0}, "read back and journaled in the same tick"
    kinds = [e.kind for e in status.events]
    assert kinds[kinds.index("rollback") :][-1] == "router"
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
    assert status is not None and router.weights == {"v1": 100}  # v2 has no instance: not a backend any more
    assert next(e for e in status.events if e.kind == "rollback").trigger == "instances"


async def test_router_state_is_reapplied_after_a_restart(tmp_path: Path) -> None:
    controller, _, platform = make(tmp_path)
    await deploy(controller, "v1")
    fresh_router = FakeRouter()
    again = Controller(controller.spec, router=fresh_router, platform=platform, store=controller.store,
                       clock=FakeClock(), probes=lambda _: FakeProbe())  # fmt: skip
    await again.tick()
    assert fresh_router.weights == {"v1": 100} and set(fresh_router.backends) == {"v1"}


class DriftingRouter(FakeRouter):
    """A router that ignores the first apply of a weight change (a lost update): the controller must notice on
    reading back and apply again."""

    def __init__(self) -> None:
        super().__init__()
        self.drop = 0

    async def apply(self, weights: dict[str, int]) -> None:
        if self.drop > 0:
            self.drop -= 1
            return
        await super().apply(weights)


async def test_weights_are_read_back_and_reapplied_when_the_router_differs(tmp_path: Path) -> None:
    controller, _, _ = make(tmp_path)
    router = DriftingRouter()
    controller.router = router
    await deploy(controller, "v1")
    controller.start("v2")
    router.drop = 1  # the 90/10 change is lost once
    status = None
    for _ in range(20):
        status = await controller.tick()
        assert status is not None
        if status.router_weights == {"v1": 90, "v2": 10}:
            break
    assert status is not None and status.router_weights == {"v1": 90, "v2": 10}
    assert router.weights == {"v1": 90, "v2": 10}


def test_status_shows_the_weights_read_back_and_says_when_they_differ() -> None:
    from greenflag.rollout.ops import status_json
    from greenflag.rollout.steps import new_status

    spec = Spec.model_validate(
        {
            "service": "svc",
            "platform": {"command": "app --port {port}"},
            "strategy": {"canary": {"steps": [{"set_weight": 10}]}},
        }
    )
    status = new_status(spec, 1, "v2", "v1", 0.0)
    status.weights, status.backends = {"v1": 100}, ["v1", "v2"]
    shown = status_json(status, read_back={"v1": 100, "v2-0": 25, "v2-1": 25})
    assert (shown["weights"], shown["intended_weights"], shown["weights_source"]) == (
        {"v1": 100, "v2": 50}, {"v1": 100}, "router",
    )  # fmt: skip
    assert shown["weights_differ"] and "the router holds v1 100, v2 50" in shown["weights_note"]
    status.router_weights = {"v1": 100, "v2": 0}
    journaled = status_json(status)
    assert (journaled["weights"], journaled["weights_source"], journaled["weights_differ"]) == (
        {"v1": 100, "v2": 0}, "journal", False,
    )  # fmt: skip


async def test_start_refuses_a_version_that_is_not_a_version_name(tmp_path: Path) -> None:
    import pytest

    from greenflag.errors import UsageError

    controller, _, platform = make(tmp_path)
    for bad in ("v4 --error-rate 1", "$(id)", "", "x" * 65):
        with pytest.raises(UsageError, match="not a version name"):
            controller.start(bad)
    assert controller.store.latest("svc") is None and platform.launched == []


async def test_a_version_that_exits_at_once_is_relaunched_max_restarts_times_then_rolled_back(tmp_path: Path) -> None:
    controller, router, platform = make(tmp_path)
    await deploy(controller, "v1")
    platform.exit_at_once["v2"] = (1, "Traceback ...\nModuleNotFoundError: No module named 'app'")
    controller.start("v2")
    final = None
    for _ in range(200):  # bounded: it ends, it is not relaunched forever
        controller.clock.advance(0.2)  # type: ignore[attr-defined]
        final = await controller.tick()
        assert final is not None
        if final.done:
            break
    assert final is not None and final.done and final.phase is Phase.ROLLED_BACK
    budget = controller.spec.platform.max_restarts
    assert platform.launched.count("v2") == budget + 1
    rollback = next(e for e in final.events if e.kind == "rollback")
    assert "v2-0 exited with code 1; last output: Traceback ... / ModuleNotFoundError" in rollback.message
    assert router.weights == {"v1": 100}


async def test_a_rollout_in_progress_is_continued_only_with_the_spec_it_started_with(tmp_path: Path) -> None:
    import pytest

    from greenflag.errors import UsageError

    controller, _, platform = make(tmp_path)
    await deploy(controller, "v1")
    controller.start("v2")
    await controller.tick()
    data = controller.spec.model_dump(mode="json")
    data["strategy"]["canary"]["steps"][0]["set_weight"] = 50
    data["analysis"]["interval"] = 2.0
    other = Controller(Spec.model_validate(data), router=FakeRouter(), platform=platform, store=controller.store,
                       clock=FakeClock(), probes=lambda _: FakeProbe())  # fmt: skip
    with pytest.raises(UsageError, match=r"differs in analysis.interval, strategy.canary.steps\[0\].set_weight"):
        other.attach()
    same = Controller(controller.spec, router=FakeRouter(), platform=platform, store=controller.store,
                      clock=FakeClock(), probes=lambda _: FakeProbe())  # fmt: skip
    assert same.attach() is not None
