"""The slots platform behind an ALB: a real fleet of two slots on this machine (tests/platform_scripts.py) and an
Application Load Balancer in moto's AWS server on 127.0.0.1 (never real AWS), one target group per slot. A slot's
targets are deregistered before it is deployed and when its version stops, and registered once its deploy
succeeded; the ALB router finds each version in its slot's target group and moves the listener's weights.
What moto cannot prove: it routes no traffic through the listener and reports every registered target healthy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenflag.errors import ConfigError
from greenflag.rollout.controller import Controller
from greenflag.rollout.runtime import make_spec_platform
from greenflag.rollout.store import Store
from greenflag.spec import Spec
from greenflag.traffic.registry import make_router
from tests.aws import AlbWorld, build_alb, elbv2
from tests.platform_scripts import Fleet
from tests.servers import AWS_TEST_ENV, moto_server
from tests.support import http_get

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
    world = build_alb(endpoint)
    for slot in world.target_groups:
        world.set_drain(slot, 1)  # the deregistration delay the controller waits before stopping a version
    return world


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    fleet = Fleet.create(tmp_path / "fleet")
    yield fleet
    fleet.stop_all()


def spec(world: AlbWorld, fleet: Fleet, tmp_path: Path, **platform: object) -> Spec:
    return Spec.model_validate({
        "service": "shop", "state_dir": str(tmp_path / "state"), "router": world.router_keys(),
        "platform": fleet.platform_keys(deploy_timeout="60s", **platform),
        "health": {"readiness": {"http": "/healthz/ready", "interval": "100ms"}},
        "strategy": {"blue_green": {"scale_down_delay": "200ms"}}, "analysis": {"defaults": False},
    })  # fmt: skip


def registered(world: AlbWorld, slot: str) -> list[str]:
    found = elbv2(world.endpoint).describe_target_health(TargetGroupArn=world.target_groups[slot])
    return sorted(f"{t['Target']['Id']}:{t['Target']['Port']}" for t in found["TargetHealthDescriptions"])


def forward(world: AlbWorld) -> dict[str, int]:
    names = {arn: slot for slot, arn in world.target_groups.items()}
    (action,) = [a for a in world.default_actions() if a["Type"] == "forward"]
    return {names[g["TargetGroupArn"]]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}


def target(fleet: Fleet, slot: str) -> str:
    return fleet.slots[slot].removeprefix("http://")


async def test_blue_green_on_slots_behind_an_alb(world: AlbWorld, fleet: Fleet, tmp_path: Path) -> None:
    spec_ = spec(world, fleet, tmp_path)
    store = Store(tmp_path / "state.db")
    platform = make_spec_platform(spec_, store)
    router = make_router(spec_.router)
    controller = Controller(spec_, router=router, platform=platform, store=store, tick_s=0.1)

    controller.start("v1")
    assert (await controller.run()).stable == "v1"
    assert (registered(world, "blue"), registered(world, "green")) == ([target(fleet, "blue")], [])
    assert forward(world) == {"blue": 100, "green": 0}

    world.register("green", target(fleet, "green"))  # left registered by hand: taken out before green is deployed
    controller.start("v2")
    await platform.launch("v2")  # the deploy has started (the controller's first tick does the same)
    assert registered(world, "green") == [], "an idle slot takes no traffic while it is deployed"
    final = await controller.run()
    assert final.stable == "v2" and forward(world) == {"blue": 0, "green": 100}
    assert (registered(world, "blue"), registered(world, "green")) == ([], [target(fleet, "green")])
    status, body = http_get(fleet.slots["green"] + "/version")
    assert status == 200 and json.loads(body)["version"] == "v2"
    await router.aclose()


def test_each_slot_needs_a_target_group_and_its_address_among_its_targets(
    world: AlbWorld, fleet: Fleet, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"platform\.slots\.green\.targets: must include the slot's address"):
        slots = {**fleet.slots, "green": {"address": fleet.slots["green"], "targets": ["10.0.1.9:8080"]}}
        make_spec_platform(spec(world, fleet, tmp_path, slots=slots), Store(tmp_path / "a.db"))
    three = Fleet.create(tmp_path / "three", ("blue", "green", "red"))
    with pytest.raises(ConfigError, match=r"router\.target_groups: no target group for slot red"):
        make_spec_platform(spec(world, three, tmp_path), Store(tmp_path / "b.db"))
