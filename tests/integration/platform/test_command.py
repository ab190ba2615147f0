"""The command platform with real commands on this machine (tests/platform_scripts.py: launch, stop and status
scripts over `greenflag demo-app` processes): the launch output contract, `status` finding instances gone or
unknown, failing stops, timeouts, and an instance id full of shell metacharacters that reaches the stop command as
data and never runs."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenflag.platform.base import Instance, PlatformError
from greenflag.platform.command import CommandPlatform
from greenflag.rollout.store import Store
from greenflag.spec import CommandPlatformSpec
from tests.platform_scripts import Orchestrator
from tests.support import http_get, wait_until, wait_until_async

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def orchestrator(tmp_path: Path) -> Iterator[Orchestrator]:
    orchestrator = Orchestrator.create(tmp_path / "orchestrator")
    yield orchestrator
    orchestrator.stop_all()


def make(tmp_path: Path, keys: dict[str, object]) -> CommandPlatform:
    spec = CommandPlatformSpec.model_validate(keys)
    return CommandPlatform("shop", spec, Store(tmp_path / "state.db"), log_dir=tmp_path / "logs")


async def up(platform: CommandPlatform, version: str, count: int = 1) -> list[Instance]:
    async def listed() -> bool:
        await platform.launch(version)
        return len([i for i in await platform.instances() if i.version == version]) >= count

    await wait_until_async(listed, timeout=40, interval=0.1, what=f"{version} up")
    return [i for i in await platform.instances() if i.version == version]


def script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


async def test_launch_prints_the_address_and_the_id_that_stop_gets(tmp_path: Path, orchestrator: Orchestrator) -> None:
    platform = make(tmp_path, orchestrator.platform_keys(instances=2))
    instances = await up(platform, "v1", 2)
    assert sorted(i.id.rsplit("-", 1)[0] for i in instances) == ["task/v1-0", "task/v1-1"]
    for instance in instances:  # the address printed is where the instance answers (ready a moment later)
        wait_until(lambda i=instance: http_get(i.url + "/healthz/ready")[0] == 200, timeout=20, what="ready")
    await platform.stop("v1", grace_s=2)
    stops = [line for line in orchestrator.activity() if line.startswith("stop")]
    assert sorted(stops) == sorted(f"stop {i.id} grace 2" for i in instances)
    assert await platform.instances() == []


HOSTILE_ID = "task/x; touch PWNED; $(touch PWNED2) `touch PWNED3` 'q\" && rm -rf ./keep"


@pytest.mark.parametrize(
    "stop",
    [["{here}/record.py", "{instance}"], ["sh", "-c", "printf '%s\\n' \"{instance}\" > stopped.txt"],
     ["sh", "-c", "printf '%s\\n' '{instance}' > stopped.txt"]],
    ids=["argument", "shell, double quotes", "shell, single quotes"],
)  # fmt: skip
async def test_an_id_with_shell_metacharacters_reaches_stop_as_data(tmp_path: Path, stop: list[str]) -> None:
    """The one value a platform command gets that greenflag cannot validate: the id your launch printed."""
    (tmp_path / "keep").mkdir()
    launch = script(tmp_path / "launch.py", f"#!{sys.executable}\nimport json\n"
                    f"print(json.dumps({{'id': {HOSTILE_ID!r}, 'url': 'http://127.0.0.1:9'}}))\n")  # fmt: skip
    record = "import sys\nassert len(sys.argv) == 2\nopen('stopped.txt', 'w').write(sys.argv[1] + '\\n')\n"
    script(tmp_path / "record.py", f"#!{sys.executable}\n{record}")
    argv = [arg.replace("{here}", str(tmp_path)) for arg in stop]
    platform = make(tmp_path, {"kind": "command", "launch": [str(launch)], "stop": argv, "cwd": str(tmp_path)})
    (instance,) = await up(platform, "v1")
    assert instance.id == HOSTILE_ID
    await platform.stop("v1", grace_s=1)
    assert (tmp_path / "stopped.txt").read_text() == HOSTILE_ID + "\n"
    assert not list(tmp_path.glob("PWNED*")) and (tmp_path / "keep").is_dir(), "nothing of the id ran"


@pytest.mark.parametrize(
    ("printed", "cause"),
    [("echo starting; echo done", "exited 0 but its last line: 'done' is not an address"),
     ("true", "exited 0 but printed nothing"),
     ("echo '{\"id\": \"t-1\"}'", 'exited 0 but its last line is JSON without "url"'),
     ("echo 'fatal: no capacity in eu-west-1a' >&2; exit 2", "exited with code 2; last output: fatal: no capacity")],
    ids=["not an address", "nothing", "json without url", "exit 2"],
)  # fmt: skip
async def test_a_launch_without_an_address_is_a_failed_start(tmp_path: Path, printed: str, cause: str) -> None:
    launch = script(tmp_path / "launch.sh", f"#!/bin/sh\n{printed}\n")
    platform = make(tmp_path, {"kind": "command", "launch": [str(launch)], "stop": ["true"]})
    await platform.launch("v1")

    async def reported() -> bool:
        return bool(await platform.instances() == [] and (exits.extend(platform.exits()) or exits))

    exits: list[object] = []
    await wait_until_async(reported, timeout=10, what="the failed launch reported")
    assert cause in exits[0].describe(), exits[0].describe()  # type: ignore[attr-defined]
    assert exits[0].describe().startswith("launch of v1-0 ")  # type: ignore[attr-defined]


async def test_a_launch_past_its_timeout_is_killed_and_reported(tmp_path: Path) -> None:
    launch = script(tmp_path / "launch.sh", "#!/bin/sh\necho $$ > launch.pid\nsleep 60\n")
    platform = make(tmp_path, {"kind": "command", "launch": [str(launch)], "stop": ["true"], "cwd": str(tmp_path),
                               "launch_timeout": "1s"})  # fmt: skip
    await platform.launch("v1")
    exits: list[object] = []

    async def reported() -> bool:
        await platform.instances()
        exits.extend(platform.exits())
        return bool(exits)

    await wait_until_async(reported, timeout=10, what="the launch timed out")
    assert exits[0].describe() == "launch of v1-0 timed out after 1s; no output"  # type: ignore[attr-defined]


async def test_status_finds_instances_gone_and_adopts_unknown_ones(tmp_path: Path, orchestrator: Orchestrator) -> None:
    platform = make(tmp_path, orchestrator.platform_keys(status_interval="0s"))
    (instance,) = await up(platform, "v1")
    os.kill(int(instance.id.rsplit("-", 1)[1]), signal.SIGKILL)  # the orchestrator lost it

    async def gone() -> bool:
        return await platform.instances() == []

    await wait_until_async(gone, timeout=10, what="the lost instance noticed")
    (exit_,) = platform.exits()
    assert exit_.describe() == f"{instance.id} is no longer listed by platform.status; no output"

    other = make(tmp_path / "elsewhere", orchestrator.platform_keys(status_interval="0s"))  # another journal
    (v2,) = await up(other, "v2")
    adopted = await platform.instances()
    assert adopted == [v2], "listed by status, unknown to this journal: adopted"
    await platform.stop("v2", grace_s=1)
    assert await platform.instances() == [] and json.loads(status_output(orchestrator)) == []


def status_output(orchestrator: Orchestrator) -> str:
    import subprocess

    return subprocess.run([str(orchestrator.root / "status.sh")], capture_output=True, text=True, check=True).stdout


async def test_a_failing_stop_is_an_error_and_the_instance_stays(tmp_path: Path, orchestrator: Orchestrator) -> None:
    refuse = script(tmp_path / "refuse.sh", "#!/bin/sh\necho \"stop $1: access denied\" >&2\nexit 4\n")
    platform = make(tmp_path, {**orchestrator.platform_keys(), "stop": [str(refuse), "{instance}"]})
    (instance,) = await up(platform, "v1")
    with pytest.raises(PlatformError) as info:
        await platform.stop("v1", grace_s=1)
    assert str(info.value) == f"platform.stop of {instance.id}: exit 4; last output: stop {instance.id}: access denied"
    assert await platform.instances() == [instance]
