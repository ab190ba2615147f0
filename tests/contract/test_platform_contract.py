"""The contract every Platform passes: launch a version's instances (idempotently), list the live ones, stop a
version (idempotently) without touching the others; refuse a version that is not a version name before anything
runs; report why a launch failed; and let a restarted controller find, keep and stop what a previous one launched.

`launch` may complete later than it returns (a deploy, a launch command, a Deployment becoming available): like the
controller, the suite calls it again until `instances()` lists the version's instances (`launched`).

To add a platform, add an async context factory to IMPLEMENTATIONS that yields a `Subject`: the platform, how many
instances it runs per version (at least two versions at once), a way to build it again over the same journal and
infrastructure (a restarted controller), a count of the commands or API writes it caused so far, and a version
whose start fails with a known cause. It stops whatever is left when the test ends.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from greenflag.platform.base import ExitReporter, Instance, InstanceExit, Platform
from greenflag.platform.command import CommandPlatform
from greenflag.platform.kubernetes import make_kubernetes_platform
from greenflag.platform.kubernetes_api import KubeApi
from greenflag.platform.process import ProcessPlatform
from greenflag.platform.slots import SlotsPlatform
from greenflag.rollout.store import Store
from greenflag.spec import CommandPlatformSpec, KubernetesPlatformSpec, PlatformSpec, SlotsPlatformSpec
from greenflag.testing import FakePlatform
from tests.kube_api import FakeKubeApi
from tests.platform_scripts import Fleet, Orchestrator

pytestmark = pytest.mark.timeout(90)

BAD = "bad-1"  # a version whose start fails
CAUSE = "does not install"  # ... saying this


@dataclass
class Subject:
    platform: Platform
    per_version: int  # instances of each version
    restart: Callable[[], Platform]  # the same platform built again, as a restarted controller would
    activity: Callable[[], int]  # commands run (or API writes made) so far
    cause: str = CAUSE  # what the report of BAD's failed start says
    # whether these instances' own start-up has been counted in `activity` (a process counts itself once running)
    counted: Callable[[list[Instance]], bool] = lambda instances: True


@contextlib.asynccontextmanager
async def fake(tmp_path: Path) -> AsyncIterator[Subject]:
    platform = FakePlatform(instances_per_version=2)
    platform.exit_at_once[BAD] = (3, f"fatal: {BAD} {CAUSE}")
    yield Subject(platform, 2, lambda: platform, lambda: len(platform.launched) + len(platform.stopped))


@contextlib.asynccontextmanager
async def process(tmp_path: Path) -> AsyncIterator[Subject]:
    activity = tmp_path / "activity"
    script = (f'echo "$GREENFLAG_INSTANCE" >> {activity}; case {{version}} in bad*) echo "fatal: {{version}} {CAUSE}"'
              f" >&2; exit 3;; esac; exec {sys.executable} -m http.server {{port}} --bind 127.0.0.1")  # fmt: skip
    command = f"sh -c '{script}'"
    spec = PlatformSpec.model_validate({"command": command, "instances": 2, "stop_grace": "2s"})
    store = Store(tmp_path / "state.db")

    def build() -> ProcessPlatform:
        return ProcessPlatform("svc", spec, store, log_dir=tmp_path / "logs")

    platform = build()
    try:
        def lines() -> list[str]:
            return activity.read_text().splitlines() if activity.exists() else []

        def counted(instances: list[Instance]) -> bool:
            return {i.id for i in instances} <= set(lines())

        yield Subject(platform, 2, build, lambda: len(lines()), counted=counted)
    finally:
        await platform.stop_all(grace_s=2.0)


@contextlib.asynccontextmanager
async def slots(tmp_path: Path) -> AsyncIterator[Subject]:
    fleet = Fleet.create(tmp_path / "fleet", ("blue", "green"))
    spec = SlotsPlatformSpec.model_validate(fleet.platform_keys(deploy_timeout="60s"))
    store = Store(tmp_path / "state.db")

    def build() -> SlotsPlatform:
        return SlotsPlatform("svc", spec, store, log_dir=tmp_path / "logs")

    try:
        yield Subject(build(), 1, build, lambda: len(fleet.activity()))
    finally:
        fleet.stop_all()


@contextlib.asynccontextmanager
async def command(tmp_path: Path) -> AsyncIterator[Subject]:
    orchestrator = Orchestrator.create(tmp_path / "orchestrator")
    spec = CommandPlatformSpec.model_validate(orchestrator.platform_keys(instances=2, status_interval="0s"))
    store = Store(tmp_path / "state.db")

    def build() -> CommandPlatform:
        return CommandPlatform("svc", spec, store, log_dir=tmp_path / "logs")

    try:
        yield Subject(build(), 2, build, lambda: len(orchestrator.activity()))
    finally:
        orchestrator.stop_all()


@contextlib.asynccontextmanager
async def kubernetes(tmp_path: Path) -> AsyncIterator[Subject]:
    """Against a FAKE Kubernetes API server (tests/kube_api.py, tests/kube_deployments.py): no cluster runs here."""
    server = FakeKubeApi(deployment_delay=0.05)
    server.start()
    config = server.kubeconfig(tmp_path / "kubeconfig")
    keys = {"kind": "kubernetes", "namespace": "shop", "image": "registry.example.com/svc:{version}", "port": 8080,
            "kubeconfig": str(config)}  # fmt: skip
    spec = KubernetesPlatformSpec.model_validate(keys)

    def build() -> Platform:
        return make_kubernetes_platform("svc", spec)

    def writes() -> int:
        return sum(1 for r in server.requests if r.method != "GET")

    try:
        yield Subject(build(), 1, build, writes, cause="ProgressDeadlineExceeded")
    finally:
        server.stop()


CLUSTER_ENV = "GREENFLAG_TEST_KUBECONFIG"  # a real cluster's kubeconfig (e.g. kind's); unset: that case skips
_services = itertools.count()


def cluster_template(image: str) -> dict[str, Any]:
    """The Deployment the real-cluster case runs: busybox's httpd; a `bad…` version's container exits 3, so its
    rollout stalls until `progressDeadlineSeconds` (30) and Kubernetes reports ProgressDeadlineExceeded."""
    script = "case {version} in bad*) echo '{version} does not install' >&2; exit 3;; esac; exec httpd -f -p 8080"
    container = {"name": "web", "image": image, "command": ["sh", "-c", script], "ports": [{"containerPort": 8080}]}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"progressDeadlineSeconds": 30, "template": {"spec": {"containers": [container]}}}}  # fmt: skip


class _CountingApi(KubeApi):
    """The real client, counting its writes (a real cluster keeps no request log for the suite to read)."""

    writes: list[str]

    async def request(
        self, method: str, path: str, body: Any = None, *, content_type: str | None = None
    ) -> dict[str, Any]:
        if method != "GET":
            self.writes.append(f"{method} {path}")
        return await super().request(method, path, body, content_type=content_type)


@contextlib.asynccontextmanager
async def kubernetes_cluster(tmp_path: Path) -> AsyncIterator[Subject]:
    """Against a REAL cluster (kind, for example) when GREENFLAG_TEST_KUBECONFIG names its kubeconfig; skipped
    otherwise (no cluster runs here). Each test gets a service name of its own; what it made is deleted at the end."""
    kubeconfig = os.environ.get(CLUSTER_ENV)
    if not kubeconfig:
        pytest.skip(f"needs a real cluster: set {CLUSTER_ENV} to its kubeconfig (see docs/platforms.md, kubernetes)")
    namespace = os.environ.get("GREENFLAG_TEST_K8S_NAMESPACE", "default")
    image = os.environ.get("GREENFLAG_TEST_K8S_IMAGE", "busybox:1.36")
    service_name = f"gf-platform-{os.getpid()}-{next(_services)}"
    keys = {"kind": "kubernetes", "namespace": namespace, "template": cluster_template(image), "stop_grace": "2s",
            "kubeconfig": kubeconfig}  # fmt: skip
    spec = KubernetesPlatformSpec.model_validate(keys)
    writes: list[str] = []

    def build() -> Platform:
        api = _CountingApi(kubeconfig=kubeconfig)
        api.writes = writes
        return make_kubernetes_platform(service_name, spec, api=api)

    platform = build()
    try:
        yield Subject(platform, 1, build, lambda: len(writes), cause="ProgressDeadlineExceeded")
    finally:
        for version in ("v1", "v2", BAD):
            await platform.stop(version, grace_s=2.0)


IMPLEMENTATIONS: dict[str, Callable[[Path], contextlib.AbstractAsyncContextManager[Subject]]] = {
    "fake": fake,
    "process": process,
    "slots": slots,
    "command": command,
    "kubernetes": kubernetes,
    "kubernetes_cluster": kubernetes_cluster,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def subject(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Subject]:
    async with IMPLEMENTATIONS[request.param](tmp_path) as s:
        yield s


def ids(instances: list[Instance]) -> list[str]:
    return sorted(i.id for i in instances)


async def launched(platform: Platform, version: str, count: int, timeout: float = 60.0) -> list[Instance]:
    """Launch `version` and call again, as the controller does each tick, until its instances are listed."""
    deadline = time.monotonic() + timeout
    while True:
        await platform.launch(version)
        mine = [i for i in await platform.instances() if i.version == version]
        if len(mine) >= count:
            return mine
        assert time.monotonic() < deadline, f"{version}: {len(mine)} of {count} instances after {timeout:g}s"
        await _pause()


async def _counted(subject: Subject, instances: list[Instance]) -> None:
    """Wait until these instances wrote their own start-up line (one is listed a moment before it does)."""
    deadline = time.monotonic() + 30
    while not subject.counted(instances):
        assert time.monotonic() < deadline, "the instances never recorded their start"
        await _pause()


async def _pause() -> None:
    import asyncio

    await asyncio.sleep(0.1)


async def test_is_a_platform(subject: Subject) -> None:
    assert isinstance(subject.platform, Platform)


async def test_launch_gives_the_versions_instances(subject: Subject) -> None:
    instances = await launched(subject.platform, "v1", subject.per_version)
    assert len(instances) == subject.per_version
    assert {i.version for i in instances} == {"v1"}
    assert len(set(ids(instances))) == subject.per_version and len({i.url for i in instances}) == subject.per_version
    assert all(i.url.startswith(("http://", "https://")) for i in instances)


async def test_launch_is_idempotent(subject: Subject) -> None:
    first = await launched(subject.platform, "v1", subject.per_version)
    await _counted(subject, first)
    before = subject.activity()
    assert sorted(await subject.platform.launch("v1"), key=lambda i: i.id) == sorted(first, key=lambda i: i.id)
    assert ids(await subject.platform.instances()) == ids(first)
    assert subject.activity() == before, "launching a running version again runs nothing"


async def test_instances_lists_what_was_launched(subject: Subject) -> None:
    assert await subject.platform.instances() == []
    one = await launched(subject.platform, "v1", subject.per_version)
    two = await launched(subject.platform, "v2", subject.per_version)
    assert ids(await subject.platform.instances()) == ids(one + two)


async def test_stop_removes_one_version_and_is_idempotent(subject: Subject) -> None:
    await launched(subject.platform, "v1", subject.per_version)
    kept = await launched(subject.platform, "v2", subject.per_version)
    await subject.platform.stop("v1", grace_s=2.0)
    assert ids(await subject.platform.instances()) == ids(kept)
    await _counted(subject, kept)
    before = subject.activity()
    await subject.platform.stop("v1", grace_s=2.0)
    await subject.platform.stop("never-launched", grace_s=2.0)
    assert ids(await subject.platform.instances()) == ids(kept)
    assert subject.activity() == before, "stopping a stopped version runs nothing"


async def test_a_stopped_version_launches_again(subject: Subject) -> None:
    await launched(subject.platform, "v1", subject.per_version)
    await subject.platform.stop("v1", grace_s=2.0)
    again = await launched(subject.platform, "v1", subject.per_version)
    assert len(again) == subject.per_version and ids(await subject.platform.instances()) == ids(again)


@pytest.mark.parametrize("version", ["v4 --error-rate 1", "$(touch pwned)", "a;b", "", "../v1", "-v", "v1\n"])
async def test_a_version_that_is_not_a_version_name_is_refused_before_anything_runs(
    subject: Subject, version: str
) -> None:
    with pytest.raises(ValueError, match="not a version name"):
        await subject.platform.launch(version)
    assert await subject.platform.instances() == []
    assert subject.activity() == 0, "no command ran, nothing was written"


async def test_a_launch_that_fails_reports_the_cause(subject: Subject) -> None:
    platform = subject.platform
    assert isinstance(platform, ExitReporter), "a platform whose starts can fail reports them through exits()"
    await platform.launch(BAD)
    deadline = time.monotonic() + 60
    reported: list[InstanceExit] = []
    while not reported:  # the start fails now or a moment later (a process exits, a deploy ends, a rollout stalls)
        await platform.instances()
        reported = [e for e in platform.exits() if e.version == BAD]
        assert time.monotonic() < deadline, f"no exit reported for {BAD}"
        await _pause()
    assert subject.cause in reported[0].describe(), reported[0].describe()
    listed = [i for i in await platform.instances() if i.version == BAD]
    assert len(listed) < subject.per_version, "a version whose start failed is not up"
    await platform.stop(BAD, grace_s=2.0)


async def test_instances_survive_a_restarted_controller(subject: Subject) -> None:
    first = await launched(subject.platform, "v1", subject.per_version)
    await _counted(subject, first)
    restarted = subject.restart()
    assert sorted((i.id, i.url) for i in await restarted.instances()) == sorted((i.id, i.url) for i in first)
    before = subject.activity()
    assert ids(await restarted.launch("v1")) == ids(first)
    assert subject.activity() == before, "the restarted controller keeps them: nothing is launched again"
    await restarted.stop("v1", grace_s=2.0)
    assert await restarted.instances() == []
    assert await subject.platform.instances() == []
