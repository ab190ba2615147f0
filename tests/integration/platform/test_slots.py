"""The slots platform against a real fleet on this machine: two long-lived `greenflag demo-app` slots on fixed
loopback ports, re-deployed in place by a deploy script (tests/platform_scripts.py). Deploys go to the idle slot
and never touch the serving one; failures, timeouts and a controller restarted mid-deploy are reported or resumed
from the journal; the commands get their values as arguments and through the environment only."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenflag.platform.base import Instance, PlatformError
from greenflag.platform.process import pid_alive
from greenflag.platform.slotplan import DEPLOYING, IDLE, READY, SlotState
from greenflag.platform.slots import SlotsPlatform
from greenflag.rollout.store import Store
from greenflag.spec import SlotsPlatformSpec
from tests.platform_scripts import Fleet
from tests.support import http_get, wait_until_async

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    fleet = Fleet.create(tmp_path / "fleet")
    yield fleet
    fleet.stop_all()


def make(tmp_path: Path, fleet: Fleet, **keys: object) -> SlotsPlatform:
    spec = SlotsPlatformSpec.model_validate(fleet.platform_keys(**keys))
    return SlotsPlatform("shop", spec, Store(tmp_path / "state.db"), log_dir=tmp_path / "logs")


async def deployed(platform: SlotsPlatform, version: str, timeout: float = 40.0) -> Instance:
    async def up() -> bool:
        return bool(await platform.launch(version))

    await wait_until_async(up, timeout=timeout, interval=0.1, what=f"{version} deployed")
    (instance,) = await platform.launch(version)
    return instance


def served(url: str) -> str:
    status, body = http_get(url + "/version")
    assert status == 200
    return str(json.loads(body)["version"])


async def test_versions_go_to_the_idle_slot_and_never_touch_the_serving_one(tmp_path: Path, fleet: Fleet) -> None:
    platform = make(tmp_path, fleet)
    v1 = await deployed(platform, "v1")
    assert (v1.id, v1.url, served(v1.url)) == ("v1@blue", fleet.slots["blue"], "v1")
    v2 = await deployed(platform, "v2")
    assert (v2.id, v2.url, served(v2.url)) == ("v2@green", fleet.slots["green"], "v2")
    assert served(v1.url) == "v1", "blue kept serving v1 while green was deployed"

    before = fleet.activity()
    assert await platform.launch("v3") == [], "no idle slot: v3 waits (the controller retries each tick)"
    assert platform.waiting["v3"] == (
        "no idle slot to deploy v3 onto: blue holds v1 (ready); green holds v2 (ready); stop a version first"
    )
    assert fleet.activity() == before, "nothing ran"

    await platform.stop("v1", grace_s=1)
    assert fleet.activity()[-1] == "stop blue v1 grace 1"
    assert platform.states()["blue"] == SlotState("blue", IDLE, "v1", changed=platform.states()["blue"].changed)
    v3 = await deployed(platform, "v3")
    assert (v3.id, served(v3.url), served(v2.url)) == ("v3@blue", "v3", "v2")
    assert fleet.activity()[-1].startswith("deploy blue v3 (previous: v1)")


async def test_a_failed_deploy_reports_its_exit_and_output_and_frees_the_slot(tmp_path: Path, fleet: Fleet) -> None:
    platform = make(tmp_path, fleet)
    assert await platform.launch("bad-1") == []
    await wait_until_async(lambda: _idle(platform, "blue"), timeout=20, what="the deploy ended")
    assert await platform.instances() == []
    (exit_,) = platform.exits()
    assert exit_.describe() == (
        "deploy of bad-1 onto slot blue exited with code 3; last output: installing bad-1 on blue / "
        "fatal: bad-1 does not install"
    )
    assert platform.exits() == [], "reported once"
    await platform.launch("bad-1")  # retried (the controller does, within max_restarts): the same slot
    assert platform.states()["blue"].state == DEPLOYING


async def _idle(platform: SlotsPlatform, slot: str) -> bool:
    await platform.instances()
    return platform.states()[slot].state == IDLE


async def test_a_deploy_past_its_timeout_is_killed_with_what_it_started(tmp_path: Path, fleet: Fleet) -> None:
    (fleet.root / "v1.sleep").write_text("60")
    platform = make(tmp_path, fleet, deploy_timeout="1s")
    await platform.launch("v1")
    await wait_until_async(lambda: _exists(fleet.root / "run" / "deploying.pid"), timeout=10, what="deploy runs")
    script = int((fleet.root / "run" / "deploying.pid").read_text())
    await wait_until_async(lambda: _idle(platform, "blue"), timeout=20, what="the deploy timed out")
    (exit_,) = platform.exits()
    assert exit_.describe() == "deploy of v1 onto slot blue timed out after 1s; no output"
    await wait_until_async(lambda: _gone(script), timeout=5, what="the deploy script killed with its process group")


async def _gone(pid: int) -> bool:
    return not pid_alive(pid)


async def _exists(path: Path) -> bool:
    return path.exists()


async def test_a_restarted_controller_waits_for_the_deploy_in_progress(tmp_path: Path, fleet: Fleet) -> None:
    (fleet.root / "v1.sleep").write_text("2")
    first = make(tmp_path, fleet)
    await first.launch("v1")
    del first  # the controller is gone; the deploy runs on, detached
    second = make(tmp_path, fleet)
    state = second.states()["blue"]
    assert (state.state, state.version) == (DEPLOYING, "v1") and state.pid is not None
    assert await second.launch("v1") == [], "still deploying: not started again"
    instance = await deployed(second, "v1")
    assert served(instance.url) == "v1"
    assert [line for line in fleet.activity() if line.startswith("deploy")] == ["deploy blue v1 (previous: none)"]
    assert second.states()["blue"].state == READY


async def test_a_deploy_the_controller_died_starting_is_reported_not_rerun_silently(
    tmp_path: Path, fleet: Fleet
) -> None:
    platform = make(tmp_path, fleet)
    now = time.time()
    interrupted = SlotState("blue", DEPLOYING, "v1", None, now, now)  # journaled, but never spawned
    platform.journal.put_platform_record("shop", "slot:blue", interrupted.to_json())
    assert await platform.instances() == []
    (exit_,) = platform.exits()
    assert exit_.describe() == (
        "deploy of v1 onto slot blue interrupted: the controller stopped as it started it; no output"
    )
    assert platform.states()["blue"].state == IDLE and fleet.activity() == []


async def test_stopping_a_version_mid_deploy_stops_the_deploy(tmp_path: Path, fleet: Fleet) -> None:
    (fleet.root / "v1.sleep").write_text("60")
    platform = make(tmp_path, fleet)
    await platform.launch("v1")
    await wait_until_async(lambda: _exists(fleet.root / "run" / "deploying.pid"), timeout=10, what="deploy runs")
    script = int((fleet.root / "run" / "deploying.pid").read_text())
    await platform.stop("v1", grace_s=1)
    assert not pid_alive(script), "stop waits until the deploy has ended"
    assert platform.states()["blue"].state == IDLE and await platform.instances() == []
    assert fleet.activity()[-1] == "stop blue v1 grace 1"


async def test_a_failing_stop_command_is_an_error_and_the_slot_stays_held(tmp_path: Path, fleet: Fleet) -> None:
    stop = fleet.root / "refuse-stop.sh"
    stop.write_text("#!/bin/sh\necho \"cannot reach $GREENFLAG_SLOT\" >&2\nexit 5\n")
    stop.chmod(0o755)
    platform = make(tmp_path, fleet, stop=[str(stop)])
    await deployed(platform, "v1")
    with pytest.raises(PlatformError) as info:
        await platform.stop("v1", grace_s=1)
    assert str(info.value) == "platform.stop of v1 on slot blue: exit 5; last output: cannot reach blue"
    assert platform.states()["blue"].state == READY


async def test_an_unrunnable_deploy_command_fails_at_once(tmp_path: Path, fleet: Fleet) -> None:
    platform = make(tmp_path, fleet, deploy=["./no-such-deploy.sh", "{version}"])
    with pytest.raises(PlatformError, match=r"platform\.deploy: cannot start '\./no-such-deploy\.sh'"):
        await platform.launch("v1")
    assert platform.states()["blue"].state == IDLE


async def test_values_reach_commands_as_arguments_and_environment_never_as_code(tmp_path: Path, fleet: Fleet) -> None:
    record = fleet.root / "record.py"
    record.write_text(
        "import json, os, sys\n"
        "env = {k: v for k, v in os.environ.items() if k.startswith('GREENFLAG_')}\n"
        "with open(os.environ['OUT'], 'a') as out:\n"
        "    out.write(json.dumps({'argv': sys.argv[1:], 'env': env}) + '\\n')\n"
    )
    out = tmp_path / "calls.jsonl"
    script = f"python3 {record} {{version}} $(echo {{slot}}) '{{address}}'"  # unquoted, in $(), in quotes
    platform = make(tmp_path, fleet, deploy=["python3", str(record), "{slot}", "{version}", "{address}"],
                    stop=["sh", "-c", script], env={"OUT": str(out)})  # fmt: skip
    os.environ.pop("GREENFLAG_VERSION", None)
    await deployed(platform, "2.4.1-rc.1")
    await platform.stop("2.4.1-rc.1", grace_s=3)
    deploy, stop = (json.loads(line) for line in out.read_text().splitlines())
    address = fleet.slots["blue"]
    assert deploy["argv"] == ["blue", "2.4.1-rc.1", address]
    assert deploy["env"] == {"GREENFLAG_VERSION": "2.4.1-rc.1", "GREENFLAG_SLOT": "blue", "GREENFLAG_ADDRESS": address,
                             "GREENFLAG_SERVICE": "shop", "GREENFLAG_PREVIOUS_VERSION": ""}  # fmt: skip
    assert stop["argv"] == ["2.4.1-rc.1", "blue", address]  # expanded by the shell from the environment
    assert stop["env"]["GREENFLAG_STOP_GRACE"] == "3"


async def test_a_stop_past_its_timeout_is_killed_and_an_error(tmp_path: Path, fleet: Fleet) -> None:
    stop = fleet.root / "slow-stop.sh"
    stop.write_text(f"#!/bin/sh\necho $$ > {tmp_path}/stop.pid\necho draining\nsleep 60\n")
    stop.chmod(0o755)
    platform = make(tmp_path, fleet, stop=[str(stop)], stop_timeout="1s")
    await deployed(platform, "v1")
    with pytest.raises(PlatformError, match=r"^platform\.stop of v1 on slot blue: timed out after 1s"):
        await platform.stop("v1", grace_s=1)
    script = int((tmp_path / "stop.pid").read_text())
    await wait_until_async(lambda: _gone(script), timeout=5, what="the stop command killed with its process group")
    assert platform.states()["blue"].state == READY
