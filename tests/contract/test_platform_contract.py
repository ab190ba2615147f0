"""The contract every Platform passes: launch a version's instances (idempotently), list the live ones, stop a
version (idempotently) without touching the others.

To add a platform, add an async context factory to IMPLEMENTATIONS that yields a Platform running two instances
per version of a service that answers HTTP on its instance's URL (the process platform runs Python's http.server),
and stops whatever is left when the test ends.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from greenflag.platform.base import Instance, Platform
from greenflag.platform.process import ProcessPlatform
from greenflag.rollout.store import Store
from greenflag.spec import PlatformSpec
from greenflag.testing import FakePlatform

pytestmark = pytest.mark.timeout(60)

INSTANCES = 2


@contextlib.asynccontextmanager
async def fake(tmp_path: Path) -> AsyncIterator[Platform]:
    yield FakePlatform(instances_per_version=INSTANCES)


@contextlib.asynccontextmanager
async def process(tmp_path: Path) -> AsyncIterator[Platform]:
    command = f"{sys.executable} -m http.server {{port}} --bind 127.0.0.1"
    spec = PlatformSpec.model_validate({"command": command, "instances": INSTANCES, "stop_grace": "2s"})
    platform = ProcessPlatform("svc", spec, Store(tmp_path / "state.db"), log_dir=tmp_path / "logs")
    try:
        yield platform
    finally:
        await platform.stop_all(grace_s=2.0)


IMPLEMENTATIONS: dict[str, Callable[[Path], contextlib.AbstractAsyncContextManager[Platform]]] = {
    "fake": fake,
    "process": process,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def platform(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Platform]:
    async with IMPLEMENTATIONS[request.param](tmp_path) as p:
        yield p


def ids(instances: list[Instance]) -> list[str]:
    return sorted(i.id for i in instances)


async def test_is_a_platform(platform: Platform) -> None:
    assert isinstance(platform, Platform)


async def test_launch_gives_the_versions_instances(platform: Platform) -> None:
    instances = await platform.launch("v1")
    assert len(instances) == INSTANCES
    assert {i.version for i in instances} == {"v1"}
    assert len(set(ids(instances))) == INSTANCES and len({i.url for i in instances}) == INSTANCES
    assert all(i.url.startswith(("http://", "https://")) for i in instances)


async def test_launch_is_idempotent(platform: Platform) -> None:
    first = await platform.launch("v1")
    assert await platform.launch("v1") == first


async def test_instances_lists_what_was_launched(platform: Platform) -> None:
    assert await platform.instances() == []
    launched = await platform.launch("v1") + await platform.launch("v2")
    assert ids(await platform.instances()) == ids(launched)


async def test_stop_removes_one_version_and_is_idempotent(platform: Platform) -> None:
    await platform.launch("v1")
    kept = await platform.launch("v2")
    await platform.stop("v1", grace_s=2.0)
    assert ids(await platform.instances()) == ids(kept)
    await platform.stop("v1", grace_s=2.0)
    await platform.stop("never-launched", grace_s=2.0)
    assert ids(await platform.instances()) == ids(kept)


async def test_a_stopped_version_launches_again(platform: Platform) -> None:
    await platform.launch("v1")
    await platform.stop("v1", grace_s=2.0)
    again = await platform.launch("v1")
    assert len(again) == INSTANCES and ids(await platform.instances()) == ids(again)


@pytest.mark.parametrize("version", ["v4 --error-rate 1", "$(touch pwned)", "a;b", "", "../v1"])
async def test_a_version_that_is_not_a_version_name_is_refused(platform: Platform, version: str) -> None:
    with pytest.raises(ValueError, match="not a version name"):
        await platform.launch(version)
    assert await platform.instances() == []
