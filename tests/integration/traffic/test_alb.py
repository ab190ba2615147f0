"""The ALB driver against moto's AWS server on 127.0.0.1 (never real AWS; fake credentials): what it writes to the
listener, what it reads back, the test listener, backends found by their registered targets, target health, the
deregistration delay, and `greenflag router set-weights | status` on `kind: alb`.

moto checks the API calls and keeps the load balancer as data: it sends no traffic through the weights, reports
every registered target `healthy` and deregisters at once (see docs/routers.md, "What the ALB tests cannot
prove")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenflag.rollout.controller import Controller
from greenflag.rollout.model import Phase, Status
from greenflag.rollout.store import Store
from greenflag.spec import AlbRouterSpec, Spec
from greenflag.testing import FakeClock, FakePlatform, FakeProbe
from greenflag.traffic.alb import AlbError, AlbRouter, AlbTestListenerRouter, make_alb_router
from greenflag.traffic.alb_actions import NO_BACKEND_BODY
from greenflag.traffic.alb_api import ActionOwner, ElbApi
from greenflag.traffic.base import DrainTimes, HeaderRouting, HealthReporter
from tests.aws import AlbWorld, build_alb, elbv2
from tests.servers import AWS_TEST_ENV, moto_server

PLATFORM = {"command": "app --port {port}"}  # every spec says how a version starts

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in AWS_TEST_ENV.items():
            patch.setenv(key, value)
        with moto_server() as url:
            yield url


@pytest.fixture
def world(endpoint: str) -> AlbWorld:
    return build_alb(endpoint)


@pytest.fixture
async def router(world: AlbWorld) -> AsyncIterator[AlbTestListenerRouter]:
    spec = AlbRouterSpec.model_validate(world.router_keys(test_listener_arn=world.test_listener))
    driver = make_alb_router(spec)
    assert isinstance(driver, AlbTestListenerRouter)
    yield driver
    await driver.aclose()


def weights(actions: list[dict[str, Any]], world: AlbWorld) -> dict[str, int]:
    """slot → weight, from raw listener actions as moto holds them."""
    names = {arn: slot for slot, arn in world.target_groups.items()}
    (forward,) = [a for a in actions if a["Type"] == "forward"]
    return {names[g["TargetGroupArn"]]: g["Weight"] for g in forward["ForwardConfig"]["TargetGroups"]}


async def test_every_apply_names_every_target_group_and_keeps_stickiness(router: AlbRouter, world: AlbWorld) -> None:
    sticky = {"Enabled": True, "DurationSeconds": 300}
    elbv2(world.endpoint).modify_listener(ListenerArn=world.listener, DefaultActions=[{"Type": "forward",
        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": world.target_groups["blue"], "Weight": 5}],
                          "TargetGroupStickinessConfig": sticky}}])  # fmt: skip
    await router.apply({"green": 10})
    actions = world.default_actions()
    assert weights(actions, world) == {"blue": 0, "green": 10}  # blue named, at 0
    assert actions[0]["ForwardConfig"]["TargetGroupStickinessConfig"] == sticky
    assert await router.observe() == {"blue": 0, "green": 10}


async def test_all_zero_is_a_fixed_503_and_a_redirect_is_refused(router: AlbRouter, world: AlbWorld) -> None:
    await router.apply({})
    (action,) = world.default_actions()
    assert action["Type"] == "fixed-response" and action["FixedResponseConfig"]["MessageBody"] == NO_BACKEND_BODY
    assert await router.observe() == {"blue": 0, "green": 0}  # every backend, none with traffic
    await router.apply({"blue": 100})
    assert weights(world.default_actions(), world) == {"blue": 100, "green": 0}
    elbv2(world.endpoint).modify_listener(ListenerArn=world.listener, DefaultActions=[
        {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}])
    with pytest.raises(AlbError, match="'redirect': greenflag steers a forward action"):
        await router.apply({"green": 100})


async def test_bad_weights_are_refused_before_anything_is_written(router: AlbRouter, world: AlbWorld) -> None:
    before = world.default_actions()
    with pytest.raises(ValueError, match="0-999, not 1000"):
        await router.apply({"blue": 1000})
    with pytest.raises(ValueError, match="unknown backend 'red'"):
        await router.apply({"red": 1})
    assert world.default_actions() == before


async def test_a_write_the_alb_does_not_hold_raises(world: AlbWorld) -> None:
    """A stand-in API that loses the write (as if another tool changed the listener back): read-back catches it."""

    class LostWrites(ElbApi):
        async def set_actions(self, owner: ActionOwner, actions: list[dict[str, Any]]) -> None:
            return None

    spec = AlbRouterSpec.model_validate(world.router_keys())
    router = AlbRouter(spec, api=LostWrites(spec))
    with pytest.raises(AlbError, match="did not take the weights"):
        await router.apply({"blue": 50, "green": 50})


async def test_test_listener_is_the_header_route(router: AlbTestListenerRouter, world: AlbWorld) -> None:
    assert isinstance(router, HeaderRouting)
    await router.apply({"blue": 100})
    assert weights(world.default_actions(world.test_listener), world) == {"blue": 100, "green": 0}  # follows
    await router.set_header_route("green")
    assert weights(world.default_actions(world.test_listener), world) == {"blue": 0, "green": 100}
    assert await router.header_route() == "green"
    await router.apply({"blue": 90, "green": 10})  # production moves; the pinned test listener stays
    assert weights(world.default_actions(world.test_listener), world) == {"blue": 0, "green": 100}
    assert weights(world.default_actions(), world) == {"blue": 90, "green": 10}
    await router.apply({"green": 100})
    assert await router.header_route() == "green"  # pinned, even where production agrees
    await router.set_header_route(None)
    assert weights(world.default_actions(world.test_listener), world) == {"blue": 0, "green": 100}
    assert await router.header_route() is None
    await router.set_header_route("blue")
    await router.reset("blue")  # reset unpins
    assert await router.header_route() is None and await router.observe() == {"blue": 100, "green": 0}


async def test_a_rule_is_steered_and_the_default_action_left_alone(world: AlbWorld) -> None:
    router = make_alb_router(AlbRouterSpec.model_validate(world.router_keys(rule_arn=world.rule)))
    before = world.default_actions()
    await router.apply({"blue": 70, "green": 30})
    assert weights(world.rule_actions(), world) == {"blue": 70, "green": 30}
    assert world.default_actions() == before and await router.observe() == {"blue": 70, "green": 30}


async def test_backends_are_found_by_their_registered_targets(router: AlbRouter, world: AlbWorld) -> None:
    world.register("green", "10.0.1.5:8080", "10.0.1.6:8080")
    world.register("blue", "10.0.1.7:8080")
    await router.set_backends({"v1": "http://10.0.1.7:8080", "v2-0": "http://10.0.1.5:8080",
                               "v2-1": "http://10.0.1.6:8080/"})  # fmt: skip
    await router.apply({"v1": 90, "v2-0": 5, "v2-1": 5})
    assert weights(world.default_actions(), world) == {"blue": 90, "green": 10}  # a version's instances add up
    assert await router.observe() == {"v1": 90, "v2-0": 5, "v2-1": 5}
    health = await router.backend_health()
    assert {n: h.ready for n, h in health.items()} == {"v1": True, "v2-0": True, "v2-1": True}
    assert health["v2-0"].detail == "1/1 healthy"
    await router.set_backends({"v2-0": "http://10.0.1.5:8080"})  # v1 given up: its target group takes no traffic
    assert weights(world.default_actions(), world) == {"blue": 0, "green": 10}
    with pytest.raises(ValueError, match=r"10\.0\.9\.9:80 is not a registered target of router\.target_groups"):
        await router.set_backends({"v3": "http://10.0.9.9:80"})
    world.register("green", "10.0.1.8:8080")
    with pytest.raises(ValueError, match="v2 and v3 are all in target group green: one version per target group"):
        await router.set_backends({"v2-0": "http://10.0.1.5:8080", "v3": "http://10.0.1.8:8080"})


async def test_target_health_and_drain_times(router: AlbRouter, world: AlbWorld) -> None:
    assert isinstance(router, HealthReporter) and isinstance(router, DrainTimes)
    health = await router.backend_health()
    assert not health["blue"].ready and health["blue"].detail.startswith("no targets registered in shop")
    world.register("blue", "10.0.1.9:8080")
    assert (await router.backend_health())["blue"].ready
    world.set_drain("green", 5)
    assert await router.drain_times() == {"blue": 300.0, "green": 5.0}  # AWS's default delay is 300 s


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **AWS_TEST_ENV, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "src")}
    return subprocess.run([sys.executable, "-m", "greenflag", "router", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_router_set_weights_and_status_on_kind_alb(world: AlbWorld, tmp_path: Path) -> None:
    spec = tmp_path / "greenflag.yaml"
    spec.write_text(yaml.safe_dump({"service": "shop", "router": world.router_keys(), "platform": PLATFORM,
                                    "strategy": {"canary": {"steps": [{"set_weight": 10}]}}}))  # fmt: skip
    world.register("green", "10.0.1.5:8080")
    done = cli("set-weights", "green=100", "-f", str(spec), cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "weights: blue=0 green=100", done.stderr
    status = cli("status", "--json", "-f", str(spec), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["weights"] == {"blue": 0, "green": 100}
    assert shown["backends"]["green"]["state"] == "1/1 healthy" and shown["backends"]["green"]["drain_s"] == 300.0
    bad = cli("set-weights", "green=1000", "-f", str(spec), cwd=tmp_path)
    assert bad.returncode == 2 and "0-999" in bad.stderr and bad.stderr.strip().count("\n") == 0, bad.stderr
    keys = world.router_keys(listener_arn=world.listener.replace("listener/", "listner/"))
    spec.write_text(yaml.safe_dump({"service": "shop", "router": keys, "platform": PLATFORM,
                                    "strategy": {"canary": {"steps": [{"set_weight": 10}]}}}))  # fmt: skip
    wrong = cli("status", "-f", str(spec), cwd=tmp_path)
    assert wrong.returncode == 2 and "router.listener_arn: expected an ALB listener ARN" in wrong.stderr, wrong.stderr
    assert wrong.stderr.strip().count("\n") == 0


class SlotPlatform(FakePlatform):
    """A FakePlatform whose versions run at fixed addresses (as if deployed into the target groups' targets)."""

    def __init__(self, addresses: dict[str, str]) -> None:
        super().__init__()
        self.addresses = addresses

    async def launch(self, version: str) -> list[Any]:
        instances = await super().launch(version)
        self.running[version] = [replace(i, url=f"http://{self.addresses[version]}") for i in instances]
        return list(self.running[version])


async def test_a_canary_through_the_alb(world: AlbWorld, tmp_path: Path) -> None:
    """The controller steers the ALB: the test listener carries the canary before it takes production traffic,
    production follows the steps, and the old version is stopped after the target groups' deregistration delay."""
    world.register("blue", "10.0.1.7:8080")
    world.register("green", "10.0.1.5:8080")
    world.set_drain("blue", 30)
    world.set_drain("green", 30)
    spec = Spec.model_validate({"service": "shop", "state_dir": str(tmp_path), "platform": PLATFORM,
                                "analysis": {"defaults": False},
                                "router": world.router_keys(test_listener_arn=world.test_listener),
                                "strategy": {"canary": {"steps": [{"set_weight": 10}, {"pause": {}}]}}})  # fmt: skip
    platform, clock, probe = SlotPlatform({"v1": "10.0.1.7:8080", "v2": "10.0.1.5:8080"}), FakeClock(), FakeProbe()
    router = make_alb_router(spec.router)  # type: ignore[arg-type]
    controller = Controller(spec, router=router, platform=platform, store=Store(tmp_path / "state.db"), clock=clock,
                            probes=lambda _: probe)  # fmt: skip
    controller.start("v1")
    assert (await controller.run()).stable == "v1"
    assert weights(world.default_actions(), world) == {"blue": 100, "green": 0}
    status = controller.start("v2")
    status = await until_paused(controller, clock)
    assert weights(world.default_actions(), world) == {"blue": 90, "green": 10}
    assert weights(world.default_actions(world.test_listener), world) == {"blue": 0, "green": 100}  # the test route
    controller.store.post_command(status.rollout_id, "promote")
    promoted_at, deadline = None, clock.monotonic() + 120
    while "v1" not in platform.stopped:
        status = await controller.tick()
        assert status is not None
        if status.phase is Phase.HEALTHY and promoted_at is None:
            promoted_at = clock.monotonic()
            assert weights(world.default_actions(), world) == {"blue": 0, "green": 100}
            assert weights(world.default_actions(world.test_listener), world) == {"blue": 0, "green": 100}
        clock.advance(1.0)
        assert clock.monotonic() < deadline, "v1 was never stopped"
    assert promoted_at is not None and clock.monotonic() - promoted_at >= 30  # the deregistration delay
    await router.aclose()


async def until_paused(controller: Controller, clock: FakeClock, ticks: int = 500) -> Status:
    """Tick (0.2 s of fake time each) until the rollout pauses; bounded."""
    for _ in range(ticks):
        status = await controller.tick()
        assert status is not None and not status.aborted, status and status.events[-1]
        if status.phase is Phase.PAUSED:
            return status
        clock.advance(0.2)
    raise AssertionError(f"not paused after {ticks} ticks")
