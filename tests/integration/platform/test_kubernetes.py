"""The kubernetes platform against a FAKE Kubernetes API server on 127.0.0.1 (tests/kube_api.py with the Deployments
of tests/kube_deployments.py) — a fake, because no cluster can run here. The fake checks every object greenflag
writes against the real schema's shape (an unknown field, a wrong type, a selector that does not match the pod
labels: 422), needs the kubeconfig's bearer token, and emulates the Deployment controller's status reports. What it
cannot prove: that the pods start, pass their probes and answer at the Service's address."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from greenflag.platform.base import Instance
from greenflag.platform.kubernetes import READY_ANNOTATION, KubernetesPlatform, make_kubernetes_platform
from greenflag.spec import KubernetesPlatformSpec
from tests.kube_api import FakeKubeApi
from tests.support import wait_until_async

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKubeApi]:
    fake = FakeKubeApi(deployment_delay=0.05)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def kubeconfig(server: FakeKubeApi, tmp_path: Path) -> Path:
    server.objects.clear()
    server.requests.clear()
    server.deployments = "on"
    return server.kubeconfig(tmp_path / "kubeconfig")


def spec(kubeconfig: Path, **keys: Any) -> KubernetesPlatformSpec:
    base: dict[str, Any] = {"kind": "kubernetes", "namespace": "shop", "kubeconfig": str(kubeconfig)}
    if "template" not in keys:
        base.update(image="registry.example.com/shop/web:{version}", port=8080)
    return KubernetesPlatformSpec.model_validate({**base, **keys})


@pytest.fixture
async def platform(kubeconfig: Path) -> AsyncIterator[KubernetesPlatform]:
    p = make_kubernetes_platform("web", spec(kubeconfig, replicas=2, labels={"team": "shop"}, stop_grace="20s",
                                              env={"LOG_LEVEL": "debug"}))  # fmt: skip
    yield p
    await p.aclose()


async def ready(p: KubernetesPlatform, version: str) -> Instance:
    async def up() -> bool:
        return bool(await p.launch(version))

    await wait_until_async(up, timeout=10, interval=0.05, what=f"{version} available")
    (instance,) = await p.launch(version)
    return instance


def writes(server: FakeKubeApi) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in server.requests if r.method != "GET"]


async def test_a_version_is_a_deployment_and_a_service_of_its_own(platform: KubernetesPlatform,
                                                                   server: FakeKubeApi) -> None:  # fmt: skip
    assert await platform.launch("v2") == [], "not available yet"
    instance = await ready(platform, "v2")
    assert (instance.id, instance.url, instance.version) == ("web-v2", "http://web-v2.shop.svc:80", "v2")
    labels = {"team": "shop", "app.kubernetes.io/managed-by": "greenflag", "app.kubernetes.io/name": "web",
              "version": "v2"}  # fmt: skip
    deployment = server.get("deployments", "shop", "web-v2")
    assert deployment["metadata"]["labels"] == labels
    assert deployment["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "web", "version": "v2"}}
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"] == labels
    assert pod["spec"]["terminationGracePeriodSeconds"] == 20
    assert pod["spec"]["containers"] == [{"name": "app", "image": "registry.example.com/shop/web:v2",
                                          "ports": [{"containerPort": 8080}],
                                          "env": [{"name": "LOG_LEVEL", "value": "debug"}]}]  # fmt: skip
    service = server.get("services", "shop", "web-v2")
    assert service["spec"] == {"selector": {"app.kubernetes.io/name": "web", "version": "v2"},
                               "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}  # fmt: skip
    assert deployment["metadata"]["annotations"] == {READY_ANNOTATION: "true"}
    assert writes(server) == [
        ("POST", "/apis/apps/v1/namespaces/shop/deployments"), ("POST", "/api/v1/namespaces/shop/services"),
        ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web-v2"),
    ]  # fmt: skip


async def test_a_template_keeps_your_fields_and_gets_greenflags_labels(kubeconfig: Path, server: FakeKubeApi) -> None:
    template = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ignored", "labels": {"tier": "web"}},
        "spec": {"minReadySeconds": 5, "template": {"metadata": {"labels": {"tier": "web"}}, "spec": {
            "serviceAccountName": "{service}",
            "containers": [{"name": "web", "image": "ghcr.io/acme/{service}:{version}", "args": ["--release={version}"],
                            "ports": [{"containerPort": 9090, "name": "http"}],
                            "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 9090}}}]}}},
    }  # fmt: skip
    p = make_kubernetes_platform("web", spec(kubeconfig, template=template, name="{service}-{version}-canary"))
    await ready(p, "2.4.1-rc.1")
    obj = server.get("deployments", "shop", "web-2-4-1-rc-1-canary")
    container = obj["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["args"]) == ("ghcr.io/acme/web:2.4.1-rc.1", ["--release=2.4.1-rc.1"])
    assert obj["spec"]["minReadySeconds"] == 5 and obj["spec"]["template"]["spec"]["serviceAccountName"] == "web"
    assert obj["metadata"]["labels"]["tier"] == "web" and obj["metadata"]["labels"]["version"] == "2.4.1-rc.1"
    assert server.get("services", "shop", "web-2-4-1-rc-1-canary")["spec"]["ports"][0]["targetPort"] == 9090
    await p.aclose()


async def test_a_rollout_that_fails_is_reported_with_kubernetes_reason_and_deleted(
    kubeconfig: Path, server: FakeKubeApi
) -> None:
    p = make_kubernetes_platform("web", spec(kubeconfig))

    async def reported() -> bool:
        await p.launch("bad-7")
        exits.extend(p.exits())
        return bool(exits)

    exits: list[Any] = []
    await wait_until_async(reported, timeout=10, interval=0.05, what="the failed rollout reported")
    assert exits[0].describe() == (
        'Deployment shop/web-bad-7 did not become available: ProgressDeadlineExceeded: ReplicaSet "web-bad-7-5d8f7c9b4"'
        " has timed out progressing.; no output"
    )
    assert ("deployments", "shop", "web-bad-7") not in server.objects, "deleted: a relaunch starts afresh"
    await p.aclose()


async def test_once_ready_a_version_keeps_its_place_while_available(platform: KubernetesPlatform,
                                                                    server: FakeKubeApi) -> None:  # fmt: skip
    await ready(platform, "v1")
    server.deployments = "partial"  # one pod of two is being rescheduled: Available stays True
    await _restatus(server, "web-v1")
    assert [i.id for i in await platform.instances()] == ["web-v1"]
    with server._lock:  # the Deployment loses its minimum availability
        current = server.objects[("deployments", "shop", "web-v1")]
        current["status"]["conditions"][0]["status"] = "False"
    assert await platform.instances() == []


async def _restatus(server: FakeKubeApi, name: str) -> None:
    from tests.kube_deployments import _rollout

    _rollout(server, "shop", name)
    await asyncio.sleep(0)


async def test_a_deployment_being_deleted_is_no_instance_and_is_replaced_once_gone(
    platform: KubernetesPlatform, server: FakeKubeApi
) -> None:
    """A foreground deletion (or a finalizer) keeps the object with a deletionTimestamp for a while: the fake deletes
    at once, so the test sets one on the stored object, as the API server would, and removes it later."""
    await ready(platform, "v2")
    key = ("deployments", "shop", "web-v2")
    with server._lock:
        server.objects[key]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    server.requests.clear()
    assert await platform.instances() == []
    assert await platform.launch("v2") == []
    assert writes(server) == [], "nothing created while the old Deployment is still there"
    with server._lock:
        del server.objects[key]
    instance = await ready(platform, "v2")
    assert instance.id == "web-v2" and ("POST", "/apis/apps/v1/namespaces/shop/deployments") in writes(server)
    assert "deletionTimestamp" not in server.get(*key)["metadata"]


async def test_stop_deletes_only_that_version_and_is_idempotent(platform: KubernetesPlatform,
                                                                server: FakeKubeApi) -> None:  # fmt: skip
    await ready(platform, "v1")
    await ready(platform, "v2")
    await platform.stop("v1", grace_s=5)
    assert ("deployments", "shop", "web-v1") not in server.objects
    assert ("services", "shop", "web-v1") not in server.objects
    assert [i.id for i in await platform.instances()] == ["web-v2"]
    before = len(writes(server))
    await platform.stop("v1", grace_s=5)
    assert len(writes(server)) == before


@pytest.mark.parametrize(
    ("keys", "version", "message"),
    [({}, "v2-", "is not a label value"), ({}, "a" * 64, "is not a label value"),
     ({"name": "{version}"}, "2.4", "not a Kubernetes Service name"),
     ({"name": "web-{version}-" + "x" * 60}, "v1", "not a Kubernetes Service name")],
    ids=["trailing dash", "64 characters", "starts with a digit", "too long"],
)  # fmt: skip
async def test_a_version_kubernetes_cannot_name_is_refused_before_any_write(
    kubeconfig: Path, server: FakeKubeApi, keys: dict[str, Any], version: str, message: str
) -> None:
    p = make_kubernetes_platform("web", spec(kubeconfig, **keys))
    with pytest.raises(ValueError, match=message):
        await p.launch(version)
    assert writes(server) == []
    await p.aclose()


async def test_a_name_two_versions_share_is_refused(kubeconfig: Path, server: FakeKubeApi) -> None:
    p = make_kubernetes_platform("web", spec(kubeconfig, name="{service}-current"))
    await ready(p, "v1")
    with pytest.raises(ValueError, match="exists for version 'v1', not 'v2'"):
        await p.launch("v2")
    await p.stop("v2", grace_s=1)
    assert ("deployments", "shop", "web-current") in server.objects, "v1's Deployment is never touched by v2"
    await p.aclose()


async def test_the_fake_refuses_what_a_real_api_server_would(server: FakeKubeApi, kubeconfig: Path) -> None:
    """The fake is only worth its tests if it refuses bad objects: a Deployment whose selector does not match its
    pods, an unknown field, a container without an image."""
    from greenflag.platform.kubernetes_api import KubeApi, KubeError
    from greenflag.platform.kubernetes_objects import deployment

    good = deployment(spec(kubeconfig), "web", "v1")
    wrong_selector = {**good, "spec": {**good["spec"], "selector": {"matchLabels": {"version": "v9"}}}}
    unknown_field = {**good, "spec": {**good["spec"], "replica": 2}}
    no_image = {**good, "spec": {**good["spec"], "template": {**good["spec"]["template"], "spec": {
        "containers": [{"name": "app"}]}}}}  # fmt: skip
    api = KubeApi(kubeconfig=str(kubeconfig))
    for bad, problem in ((wrong_selector, "`selector` does not match template `labels`"),
                         (unknown_field, "spec.replica: unknown field"),
                         (no_image, "containers[0].image: required")):  # fmt: skip
        with pytest.raises(KubeError, match="422") as info:
            await api.request("POST", "/apis/apps/v1/namespaces/shop/deployments", bad)
        assert problem in str(info.value)
    await api.request("POST", "/apis/apps/v1/namespaces/shop/deployments", good)
    api.close()


async def test_the_docs_example_spec_runs_against_the_fake(kubeconfig: Path, tmp_path: Path) -> None:
    """docs/platforms.md's kubernetes example (marked as needing a cluster) is checked here: loaded as written, with
    the fake's kubeconfig, it passes the checks of `greenflag up` and launches, lists and stops versions."""
    import re

    import yaml

    from greenflag.config import load_spec
    from greenflag.rollout.validate import check_analysis
    from tests.support import ROOT

    page = (ROOT / "docs" / "platforms.md").read_text()
    block = re.search(r"doc-test: checked-by tests/integration/platform/test_kubernetes\.py[^\n]*\n```yaml\n(.*?)```",
                      page, re.S)  # fmt: skip
    assert block is not None
    data = yaml.safe_load(block.group(1))
    data["platform"]["kubeconfig"] = str(kubeconfig)
    path = tmp_path / "greenflag.yaml"
    path.write_text(yaml.safe_dump(data))
    loaded = load_spec(path)
    check_analysis(loaded)
    assert isinstance(loaded.platform, KubernetesPlatformSpec)
    p = make_kubernetes_platform(loaded.service, loaded.platform, base_dir=path.parent)
    instance = await ready(p, "v1")
    assert instance.url == "http://shop-v1.shop.svc:80"
    await p.stop("v1", grace_s=30)
    assert await p.instances() == []
    await p.aclose()


async def test_a_release_on_kubernetes_switches_the_service_and_rolls_back_a_failed_rollout(
    kubeconfig: Path, server: FakeKubeApi, tmp_path: Path
) -> None:
    """The controller with the kubernetes platform and the Service-selector router, over the fake: the versions'
    Deployments come and go, the stable Service selects the version, and a version whose Deployment never becomes
    available is rolled back with Kubernetes' reason. No `health.readiness`: the Deployment's status is the gate,
    and the controller probes nothing (the Services' addresses do not resolve here: a probe would fail)."""
    from greenflag.rollout.controller import Controller
    from greenflag.rollout.model import Phase
    from greenflag.rollout.store import Store
    from greenflag.spec import Spec
    from greenflag.traffic.registry import make_router
    from tests.kube_api import service

    server.create("services", service("shop", "web", {"app.kubernetes.io/name": "web", "version": "none"}))
    spec_ = Spec.model_validate({
        "service": "web", "state_dir": str(tmp_path),
        "platform": {"kind": "kubernetes", "namespace": "shop", "image": "registry.example.com/web:{version}",
                     "port": 8080, "kubeconfig": str(kubeconfig), "max_restarts": 1},
        "router": {"kind": "kubernetes", "namespace": "shop", "service": "web", "kubeconfig": str(kubeconfig)},
        "strategy": {"blue_green": {"scale_down_delay": "200ms", "abort_scale_down_delay": "200ms"}},
        "analysis": {"defaults": False},
    })  # fmt: skip
    router = make_router(spec_.router)
    platform = make_kubernetes_platform("web", spec_.platform)  # type: ignore[arg-type]
    controller = Controller(spec_, router=router, platform=platform, store=Store(tmp_path / "state.db"), tick_s=0.05)

    def selected() -> str:
        return str(server.get("services", "shop", "web")["spec"]["selector"]["version"])

    def deployments() -> list[str]:
        return sorted(name for (plural, _, name) in server.objects if plural == "deployments")

    controller.start("v1")
    assert (await asyncio.wait_for(controller.run(), 30)).stable == "v1" and selected() == "v1"
    controller.start("v2")
    assert (await asyncio.wait_for(controller.run(), 30)).stable == "v2" and selected() == "v2"
    assert deployments() == ["web-v2"], "v1 was scaled down: its Deployment deleted"
    controller.start("bad-3")
    final = await asyncio.wait_for(controller.run(), 30)
    assert (final.phase, final.stable, selected()) == (Phase.ROLLED_BACK, "v2", "v2")
    rollback = next(e for e in final.events if e.kind == "rollback")
    assert "Deployment shop/web-bad-3 did not become available: ProgressDeadlineExceeded" in rollback.message
    assert rollback.trigger == "launch"
    assert deployments() == ["web-v2"]
    await controller.aclose()
    await router.aclose()
    await platform.aclose()


def test_greenflag_up_refuses_an_httproute_with_the_kubernetes_platform_before_any_write(
    kubeconfig: Path, server: FakeKubeApi, tmp_path: Path
) -> None:
    """The route's backendRefs name fixed Services, never the versions' own: one line naming router.httproute,
    exit 2, and nothing written to the (fake) cluster."""
    import subprocess

    import yaml

    from tests.support import greenflag_cmd

    path = tmp_path / "greenflag.yaml"
    path.write_text(yaml.safe_dump({
        "service": "web", "state_dir": str(tmp_path / "state"),
        "platform": {"kind": "kubernetes", "namespace": "shop", "image": "registry.example.com/web:{version}",
                     "port": 8080, "kubeconfig": str(kubeconfig)},
        "router": {"kind": "kubernetes", "namespace": "shop", "httproute": "web", "kubeconfig": str(kubeconfig)},
        "strategy": {"canary": {"steps": [{"set_weight": 10}]}},
    }))  # fmt: skip
    done = subprocess.run(greenflag_cmd("up", "-f", str(path)), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "router.httproute: with platform.kind kubernetes, each version runs behind a Service of its own" in line
    assert "Traceback" not in done.stderr and writes(server) == []


def test_the_real_cluster_contract_cases_deployment_has_the_real_schemas_shape() -> None:
    """tests/contract's kubernetes_cluster case runs only against a real cluster: its Deployment is checked here, as
    the fake checks every write, so a user's run does not fail on the manifest."""
    from greenflag.platform.kubernetes_objects import deployment
    from tests.contract.test_platform_contract import BAD, cluster_template
    from tests.kube_deployments import check_deployment

    keys = {"kind": "kubernetes", "namespace": "default", "template": cluster_template("busybox:1.36")}
    spec_ = KubernetesPlatformSpec.model_validate(keys)
    for version in ("v1", BAD):
        obj = deployment(spec_, "gf-platform-1-0", version)
        assert check_deployment(obj) == [], obj
        (container,) = obj["spec"]["template"]["spec"]["containers"]
        assert container["command"][2].startswith(f"case {version} in bad*)"), container
    assert spec_.container_port() == 8080


def test_the_real_cluster_instructions_name_what_the_suite_reads() -> None:
    """docs/platforms.md's real-cluster block cannot run here: the variables and the case it names are checked."""
    import re

    from tests.contract import test_platform_contract as contract
    from tests.support import ROOT

    page = (ROOT / "docs" / "platforms.md").read_text()
    block = re.search(r"has the case it selects -->\n```console\n(.*?)```", page, re.S)
    assert block is not None
    source = Path(contract.__file__).read_text()
    named = set(re.findall(r"GREENFLAG_TEST_\w+", page))
    assert named == {contract.CLUSTER_ENV, "GREENFLAG_TEST_K8S_NAMESPACE", "GREENFLAG_TEST_K8S_IMAGE"}
    assert all(f'"{variable}"' in source for variable in named), named
    (case,) = re.findall(r"-k (\w+)", block.group(1))
    assert case in contract.IMPLEMENTATIONS and "tests/contract/test_platform_contract.py" in block.group(1)
    assert '"busybox:1.36"' in source and 'progressDeadlineSeconds": 30' in source
