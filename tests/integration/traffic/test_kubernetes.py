"""The Kubernetes drivers against a FAKE API server on 127.0.0.1 (tests/kube_api.py): no cluster can run here, so
the fake implements the endpoints the drivers call (GET/PATCH/PUT/POST/DELETE of HTTPRoutes and Services, JSON merge
patch), answers a stale resourceVersion with 409, checks every object written against its kind's schema shape,
requires the kubeconfig's bearer token, and emulates a gateway controller writing the route's status. The same
Router contract suite runs against a real cluster when GREENFLAG_TEST_KUBECONFIG is set (docs/routers.md).
What the fake cannot prove: that a real gateway routes by these weights, or how fast it applies them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenflag.rollout.controller import Controller
from greenflag.rollout.model import Phase, Status
from greenflag.rollout.store import Store
from greenflag.spec import KubernetesRouterSpec, Spec
from greenflag.testing import FakeClock, FakePlatform, FakeProbe
from greenflag.traffic.kubernetes import (
    KubeError,
    KubernetesRouteRouter,
    KubernetesServiceRouter,
    make_kubernetes_router,
)
from greenflag.traffic.kubernetes_api import KubeApi, object_path
from greenflag.traffic.kubernetes_objects import NO_BACKEND_VALUE
from greenflag.traffic.registry import make_router
from tests.kube_api import FakeKubeApi, httproute, service

PLATFORM = {"command": "app --port {port}"}  # every spec says how a version starts

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKubeApi]:
    server = FakeKubeApi()
    server.start()
    server.kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig")
    yield server
    server.stop()


@pytest.fixture
def kubeconfig(fake: FakeKubeApi, tmp_path: Path) -> Path:
    fake.gateway, fake.gateway_delay = "accept", 0.05
    fake.interfere(0)
    fake.objects.clear()
    fake.requests.clear()
    for name in ("web-blue", "web-green"):
        fake.create("services", service("shop", name, {"app": "web", "version": name.removeprefix("web-")}))
    fake.create("httproutes", httproute("shop", "web", {"web-blue": 100}))
    return fake.kubeconfig(tmp_path / "kubeconfig")


def spec(kubeconfig: Path, **keys: Any) -> KubernetesRouterSpec:
    keys = {"kind": "kubernetes", "namespace": "shop", "kubeconfig": str(kubeconfig), "timeout": 2, **keys}
    return KubernetesRouterSpec.model_validate(keys)


@pytest.fixture
async def route(kubeconfig: Path) -> AsyncIterator[KubernetesRouteRouter]:
    router = make_kubernetes_router(spec(kubeconfig, httproute="web", backends={"blue": "web-blue",
                                                                                "green": "web-green"}))  # fmt: skip
    assert isinstance(router, KubernetesRouteRouter)
    yield router
    await router.aclose()


def refs(fake: FakeKubeApi, name: str = "web") -> list[dict[str, Any]]:
    return list(fake.get("httproutes", "shop", name)["spec"]["rules"][0]["backendRefs"])


async def test_a_weight_change_is_one_merge_patch_naming_every_backend(route: KubernetesRouteRouter,
                                                                     fake: FakeKubeApi) -> None:  # fmt: skip
    await route.apply({"green": 10, "blue": 90})
    (patch,) = [r for r in fake.requests if r.method == "PATCH"]
    assert patch.content_type == "application/merge-patch+json"
    assert patch.body["metadata"] == {"resourceVersion": patch.body["metadata"]["resourceVersion"]}
    assert patch.body["spec"]["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]  # kept
    assert {r["name"]: (r["weight"], r["port"]) for r in refs(fake)} == {"web-blue": (90, 80), "web-green": (10, 80)}
    assert await route.observe() == {"blue": 90, "green": 10}
    await route.apply({"green": 100})  # blue not named: 0
    assert {r["name"]: r["weight"] for r in refs(fake)} == {"web-blue": 0, "web-green": 100}
    before = len(fake.requests)
    await route.apply({"green": 100})  # already so: read, no write
    assert [r.method for r in fake.requests[before:]].count("PATCH") == 0


async def test_a_conflict_is_read_again_and_retried(route: KubernetesRouteRouter, fake: FakeKubeApi) -> None:
    fake.interfere(2)  # another writer changes the route just before each of our next two writes
    await route.apply({"blue": 50, "green": 50})
    assert [r.method for r in fake.requests].count("PATCH") == 3 and await route.observe() == {"blue": 50, "green": 50}
    assert "fake/concurrent-writer" in fake.get("httproutes", "shop", "web")["metadata"]["annotations"]  # kept
    fake.interfere(10)
    with pytest.raises(KubeError, match="changed by someone else on each of 5 attempts"):
        await route.apply({"blue": 100})


async def test_apply_returns_once_the_gateway_accepted_the_generation(route: KubernetesRouteRouter,
                                                                      fake: FakeKubeApi) -> None:  # fmt: skip
    fake.gateway_delay = 0.4
    await route.apply({"blue": 10, "green": 90})
    status = fake.get("httproutes", "shop", "web")
    (parent,) = status["status"]["parents"]
    assert all(c["observedGeneration"] == status["metadata"]["generation"] for c in parent["conditions"])
    assert await route.observe() == {"blue": 10, "green": 90}


@pytest.mark.parametrize(
    ("gateway", "message"),
    [("reject", "not accepted: gateway shop/web: Accepted False (NotAllowedByListeners"),
     ("off", "not accepted within 2s (no gateway has reported on it)")],
)  # fmt: skip
async def test_a_route_the_gateways_do_not_accept_raises(route: KubernetesRouteRouter, fake: FakeKubeApi,
                                                         gateway: str, message: str) -> None:  # fmt: skip
    fake.gateway = gateway
    with pytest.raises(KubeError, match=re.escape(message)):
        await route.apply({"blue": 50, "green": 50})
    if gateway == "off":
        assert await route.observe() is None  # the current generation is not accepted: cannot say


async def test_a_backend_service_that_does_not_exist_is_not_resolved(kubeconfig: Path, fake: FakeKubeApi) -> None:
    router = make_kubernetes_router(spec(kubeconfig, httproute="web", backends={"blue": "web-blue",
                                                                                "red": "web-red"}))  # fmt: skip
    with pytest.raises(KubeError, match=r"ResolvedRefs False \(BackendNotFound: services \['web-red'\] not found"):
        await router.apply({"red": 10, "blue": 90})


async def test_backends_default_to_the_services_of_the_route(kubeconfig: Path, fake: FakeKubeApi) -> None:
    fake.create("httproutes", httproute("shop", "two", {"web-blue": 1, "web-green": 0}))
    router = make_kubernetes_router(spec(kubeconfig, httproute="two"))
    await router.apply({"web-green": 100})
    assert await router.observe() == {"web-blue": 0, "web-green": 100}
    with pytest.raises(ValueError, match="unknown backend 'green'"):
        await router.apply({"green": 1})


async def test_the_fake_refuses_what_the_api_server_would(kubeconfig: Path, fake: FakeKubeApi) -> None:
    """The fake's own checks (they are what makes a passing driver test mean something)."""
    api = KubeApi(kubeconfig=str(kubeconfig))
    path = object_path("httproutes", "shop", "web")
    with pytest.raises(KubeError, match=r"422 .*backendRefs\[0\]\.weight: expected an integer 0-1000000"):
        await api.request("PATCH", path, {"spec": {"rules": [{"backendRefs": [{"name": "web-blue", "port": 80,
                                                                                "weight": "10"}]}]}})  # fmt: skip
    with pytest.raises(KubeError, match=r"422 .*spec\.rules\[0\]\.backendRef: unknown field"):
        await api.request("PATCH", path, {"spec": {"rules": [{"backendRef": []}]}})
    with pytest.raises(KubeError, match="415"):
        await api.request("PATCH", path, {"spec": {}}, content_type="application/strategic-merge-patch+json")
    with pytest.raises(KubeError, match=r"409 .*the object has been modified"):
        await api.request("PATCH", path, {"metadata": {"resourceVersion": "1"}, "spec": {}})
    api.close()
    other = FakeKubeApi(token="another", url=fake.url).kubeconfig(kubeconfig.parent / "wrong")
    wrong = KubeApi(kubeconfig=str(other))
    with pytest.raises(KubeError, match="401"):
        await wrong.request("GET", path)
    wrong.close()


async def test_service_selector_switch(kubeconfig: Path, fake: FakeKubeApi) -> None:
    router = make_kubernetes_router(spec(kubeconfig, service="web-blue"))
    assert isinstance(router, KubernetesServiceRouter)
    await router.apply({"v2": 100, "v1": 0})  # versions are label values: no mapping needed
    selector = fake.get("services", "shop", "web-blue")["spec"]["selector"]
    assert selector == {"app": "web", "version": "v2"}  # the other keys of the selector are kept
    (patch,) = [r for r in fake.requests if r.method == "PATCH"]
    assert patch.body["spec"] == {"selector": {"version": "v2"}} and "resourceVersion" in patch.body["metadata"]
    assert await router.observe() == {"v1": 0, "v2": 100}
    await router.apply({})
    assert fake.get("services", "shop", "web-blue")["spec"]["selector"]["version"] == NO_BACKEND_VALUE
    assert await router.observe() == {"v1": 0, "v2": 0}
    with pytest.raises(ValueError, match="not a label value"):
        await router.apply({"v 3": 100})
    mapped = make_kubernetes_router(spec(kubeconfig, service="web-blue", backends={"blue": "1.0", "green": "2.0"}))
    fake.interfere(1)
    await mapped.apply({"green": 100})
    assert fake.get("services", "shop", "web-blue")["spec"]["selector"]["version"] == "2.0"
    assert await mapped.observe() == {"blue": 0, "green": 100}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "src")}
    return subprocess.run([sys.executable, "-m", "greenflag", "router", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_router_set_weights_and_status_on_kind_kubernetes(kubeconfig: Path, tmp_path: Path) -> None:
    spec_file = tmp_path / "greenflag.yaml"
    router = {"kind": "kubernetes", "namespace": "shop", "httproute": "web", "kubeconfig": kubeconfig.name,
              "backends": {"blue": "web-blue", "green": "web-green"}}  # fmt: skip
    spec_file.write_text(yaml.safe_dump({"service": "shop", "router": router, "platform": PLATFORM,
                                         "strategy": {"canary": {"steps": [{"set_weight": 10}]}}}))  # fmt: skip
    done = cli("set-weights", "blue=90", "green=10", "-f", str(spec_file), cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "weights: blue=90 green=10", done.stderr
    status = cli("status", "--json", "-f", str(spec_file), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["weights"] == {"blue": 90, "green": 10}
    assert shown["backends"]["green"] == {"service": "web-green", "weight": 10, "state": "accepted by gateway shop/web"}
    router["httproute"] = "missing"
    spec_file.write_text(yaml.safe_dump({"service": "shop", "router": router, "platform": PLATFORM,
                                         "strategy": {"canary": {"steps": [{"set_weight": 10}]}}}))  # fmt: skip
    gone = cli("set-weights", "green=100", "-f", str(spec_file), cwd=tmp_path)
    assert gone.returncode == 2 and '404 Not Found: httproutes "missing" not found' in gone.stderr, gone.stderr
    assert gone.stderr.strip().count("\n") == 0


async def test_a_blue_green_rollout_switches_the_selector(kubeconfig: Path, fake: FakeKubeApi, tmp_path: Path) -> None:
    """The controller steers the Service: a version's name is its label value; a rollback switches it back."""
    spec_ = Spec.model_validate({"service": "shop", "state_dir": str(tmp_path), "platform": PLATFORM,
                                 "analysis": {"defaults": False},
                                 "router": {"kind": "kubernetes", "namespace": "shop", "service": "web-blue",
                                            "kubeconfig": str(kubeconfig)},
                                 "strategy": {"blue_green": {"auto_promote": False}}})  # fmt: skip
    router, platform, clock, probe = make_router(spec_.router), FakePlatform(), FakeClock(), FakeProbe()
    controller = Controller(spec_, router=router, platform=platform, store=Store(tmp_path / "state.db"), clock=clock,
                            probes=lambda _: probe)  # fmt: skip

    def selected() -> str:
        return str(fake.get("services", "shop", "web-blue")["spec"]["selector"]["version"])

    controller.start("v1")
    assert (await controller.run()).stable == "v1" and selected() == "v1"
    status = controller.start("v2")
    status = await until_paused(controller, clock)
    assert selected() == "v1"  # waiting to be promoted: the stable version keeps the traffic
    controller.store.post_command(status.rollout_id, "promote")
    assert (await controller.run()).stable == "v2" and selected() == "v2"
    controller.start("v3")
    status = await until_paused(controller, clock)
    controller.store.post_command(status.rollout_id, "abort")
    final = await controller.run()
    assert (final.phase, final.stable, selected()) == (Phase.ROLLED_BACK, "v2", "v2")
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
