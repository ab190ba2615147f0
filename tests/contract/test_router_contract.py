"""The contract every Router driver passes: apply, read back, reset, idempotence (+ optional capabilities).

To add a driver, add an async context factory to IMPLEMENTATIONS that yields a Router whose backends are
named "blue" and "green" (blue at 100 %).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenflag.config import load_spec
from greenflag.rollout.runtime import InProcessRouter
from greenflag.spec import AlbRouterSpec, HAProxyRouterSpec, KubernetesRouterSpec, RouterSpec
from greenflag.testing import FakeRouter
from greenflag.traffic.base import BackendManager, BackendWindow, HeaderRouting, Router, RouterStats
from greenflag.traffic.embedded.driver import EmbeddedRouterClient
from greenflag.traffic.embedded.server import EmbeddedRouter
from greenflag.traffic.haproxy_config import render_haproxy_config
from greenflag.traffic.registry import make_router
from tests.aws import build_alb
from tests.kube_api import FakeKubeApi, httproute, service
from tests.servers import AWS_TEST_ENV, haproxy_router, haproxy_server, moto_server, nginx_for, nginx_spec
from tests.support import free_port, release_spec

pytestmark = pytest.mark.timeout(60)


@contextlib.asynccontextmanager
async def fake() -> AsyncIterator[Router]:
    router = FakeRouter({"blue": 100, "green": 0})
    await router.set_backends({"blue": "http://127.0.0.1:1", "green": "http://127.0.0.1:2"})
    yield router


@contextlib.asynccontextmanager
async def embedded() -> AsyncIterator[Router]:
    backends = {"blue": f"http://127.0.0.1:{free_port()}", "green": f"http://127.0.0.1:{free_port()}"}
    spec = RouterSpec(listen="127.0.0.1:0", admin="127.0.0.1:0", backends=backends, weights={"blue": 100})
    server = EmbeddedRouter(spec, admin_token="contract")
    await server.start()
    assert server.admin_url is not None
    client = make_router(spec, admin_url=server.admin_url, token="contract")
    assert isinstance(client, EmbeddedRouterClient)
    try:
        yield client
    finally:
        await client.aclose()
        await server.stop(grace=0.5)


@contextlib.asynccontextmanager
async def in_process() -> AsyncIterator[Router]:
    """The embedded router in this event loop, steered the way `greenflag up` steers it (no admin API hop)."""
    backends = {"blue": f"http://127.0.0.1:{free_port()}", "green": f"http://127.0.0.1:{free_port()}"}
    server = EmbeddedRouter(RouterSpec(listen="127.0.0.1:0", backends=backends, weights={"blue": 100}), admin=False)
    await server.start()
    try:
        yield InProcessRouter(server)
    finally:
        await server.stop(grace=0.5)


@contextlib.asynccontextmanager
async def haproxy() -> AsyncIterator[Router]:
    """A real HAProxy on 127.0.0.1 (the config `greenflag router haproxy-config` prints), steered through its
    Runtime API on a unix socket; its servers point at ports nothing listens on (the contract sends no traffic)."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        spec = HAProxyRouterSpec.model_validate(haproxy_router(directory))
        port = free_port()
        addresses = {"blue": f"127.0.0.1:{free_port()}", "green": f"127.0.0.1:{free_port()}"}
        config = render_haproxy_config(spec, listen=f"127.0.0.1:{port}", addresses=addresses)
        with haproxy_server(config, directory, port):
            router = make_router(spec)
            await router.apply({"blue": 100})
            yield router
            await router.aclose()


@contextlib.asynccontextmanager
async def nginx() -> AsyncIterator[Router]:
    """A real nginx on 127.0.0.1 configured by `greenflag router nginx-config`, steered by rewriting its upstream
    file, testing and reloading it; its servers point at ports nothing listens on (the contract sends no traffic)."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp)
        servers = {"blue": f"127.0.0.1:{free_port()}", "green": f"127.0.0.1:{free_port()}"}
        router_keys, _ = nginx_spec(prefix, servers)
        spec_file = prefix / "greenflag.yaml"
        spec_file.write_text(yaml.safe_dump(release_spec("s", router=router_keys, strategy=CANARY)))
        with nginx_for(spec_file, prefix):
            router = make_router(load_spec(spec_file).router)
            yield router
            await router.aclose()


IMPLEMENTATIONS: dict[str, Callable[[], contextlib.AbstractAsyncContextManager[Router]]] = {
    "fake": fake,
    "embedded": embedded,
    "in_process": in_process,
    "haproxy": haproxy,
    "nginx": nginx,
}
CANARY = {"canary": {"steps": [{"set_weight": 10}]}}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto's AWS server on 127.0.0.1 (never real AWS), one per module; fake credentials."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in AWS_TEST_ENV.items():
            patch.setenv(key, value)
        with moto_server() as endpoint:
            yield endpoint


@contextlib.asynccontextmanager
async def alb(request: pytest.FixtureRequest) -> AsyncIterator[Router]:
    """An ALB in moto: the production listener's default action and a test listener (the header route)."""
    world = build_alb(request.getfixturevalue("moto_endpoint"))
    spec = AlbRouterSpec.model_validate(world.router_keys(test_listener_arn=world.test_listener))
    router = make_router(spec)
    await router.apply({"blue": 100})
    yield router
    await router.aclose()


@contextlib.asynccontextmanager
async def alb_rule(request: pytest.FixtureRequest) -> AsyncIterator[Router]:
    """An ALB in moto steered on one listener rule (rule_arn) instead of the default action; no test listener."""
    world = build_alb(request.getfixturevalue("moto_endpoint"))
    router = make_router(AlbRouterSpec.model_validate(world.router_keys(rule_arn=world.rule)))
    await router.apply({"blue": 100})
    yield router
    await router.aclose()


@pytest.fixture(scope="module")
def kube_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeKubeApi, Path]]:
    """A FAKE Kubernetes API server (no cluster can run here; see tests/kube_api.py for what it checks)."""
    fake = FakeKubeApi()
    fake.start()
    yield fake, fake.kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig")
    fake.stop()


CLUSTER_ENV = "GREENFLAG_TEST_KUBECONFIG"  # a real cluster's kubeconfig (e.g. kind's); unset: those cases skip
_objects = itertools.count()


@contextlib.asynccontextmanager
async def _kube(request: pytest.FixtureRequest, mode: str, cluster: bool) -> AsyncIterator[Router]:
    """Services `<n>-blue` and `<n>-green` (selector version=blue/green) and, for httproute, an HTTPRoute `<n>`
    attached to a Gateway, created through the API; the router steers them; they are deleted at the end."""
    if cluster:
        if not os.environ.get(CLUSTER_ENV):
            pytest.skip(f"needs a real cluster: set {CLUSTER_ENV} to its kubeconfig (see docs/routers.md, Kubernetes)")
        kubeconfig, namespace = os.environ[CLUSTER_ENV], os.environ.get("GREENFLAG_TEST_K8S_NAMESPACE", "default")
        gateway = os.environ.get("GREENFLAG_TEST_K8S_GATEWAY", "greenflag-test")
    else:
        _, path = request.getfixturevalue("kube_api")
        kubeconfig, namespace, gateway = str(path), "shop", "web"
    from greenflag.traffic.kubernetes_api import KubeApi, object_path

    api = KubeApi(kubeconfig=kubeconfig)
    name = f"gf-contract-{next(_objects)}"
    made = [("services", f"{name}-{slot}", service(namespace, f"{name}-{slot}", {"version": slot}))
            for slot in ("blue", "green")]  # fmt: skip
    if mode == "httproute":
        made.append(("httproutes", name, httproute(namespace, name, {f"{name}-blue": 100}, gateway=gateway)))
        keys: dict[str, Any] = {"httproute": name, "backends": {"blue": f"{name}-blue", "green": f"{name}-green"}}
    else:
        keys = {"service": f"{name}-blue"}
    for plural, _, obj in made:
        await api.request("POST", object_path(plural, namespace), obj)
    spec = KubernetesRouterSpec.model_validate({"kind": "kubernetes", "namespace": namespace, "kubeconfig": kubeconfig,
                                                **keys})  # fmt: skip
    router = make_router(spec)
    try:
        await router.apply({"blue": 100})
        yield router
    finally:
        await router.aclose()
        for plural, object_name, _ in made:
            await api.request("DELETE", object_path(plural, namespace, object_name))
        api.close()


def kube(mode: str, cluster: bool = False) -> Callable[[pytest.FixtureRequest], Any]:
    return lambda request: _kube(request, mode, cluster)


# Drivers whose servers are module fixtures: the factory gets the test's request.
WITH_SERVERS: dict[str, Callable[[pytest.FixtureRequest], contextlib.AbstractAsyncContextManager[Router]]] = {
    "alb": alb,
    "alb_rule": alb_rule,
    "kubernetes_httproute": kube("httproute"),
    "kubernetes_service": kube("service"),
    "kubernetes_cluster_httproute": kube("httproute", cluster=True),
    "kubernetes_cluster_service": kube("service", cluster=True),
}


def _switch_only(router: Router) -> bool:
    """All-or-nothing routers (a Service selector): one backend takes every request, splits are refused."""
    return bool(getattr(router, "switch_only", False))


def _splits(router: Router) -> None:
    if _switch_only(router):
        pytest.skip("an all-or-nothing router refuses splits (test_switch_only_refuses_a_split)")


@pytest.fixture(params=sorted({*IMPLEMENTATIONS, *WITH_SERVERS}))
async def router(request: pytest.FixtureRequest) -> AsyncIterator[Router]:
    factory = IMPLEMENTATIONS.get(request.param)
    async with factory() if factory is not None else WITH_SERVERS[request.param](request) as r:
        yield r


def _named(weights: dict[str, int] | None, names: tuple[str, ...] = ("blue", "green")) -> dict[str, int]:
    assert weights is not None
    return {n: weights.get(n, 0) for n in names}


async def test_is_a_router(router: Any) -> None:
    assert isinstance(router, Router)


async def test_apply_then_observe_reads_back(router: Router) -> None:
    _splits(router)
    for weights in ({"blue": 90, "green": 10}, {"blue": 0, "green": 100}, {"blue": 50, "green": 50}):
        await router.apply(weights)
        assert _named(await router.observe()) == weights


async def test_apply_names_every_backend_absent_is_zero(router: Router) -> None:
    """A weight change replaces the router's weights: a backend it does not name gets 0 (never keeps its old
    share), so a rollback to {stable: 100} takes every request from the canary at once."""
    _splits(router)
    await router.apply({"blue": 100, "green": 50})
    assert _named(await router.observe()) == {"blue": 100, "green": 50}
    await router.apply({"blue": 100})
    assert _named(await router.observe()) == {"blue": 100, "green": 0}
    await router.apply({"green": 7})
    assert _named(await router.observe()) == {"blue": 0, "green": 7}


async def test_apply_is_idempotent(router: Router) -> None:
    _splits(router)
    await router.apply({"blue": 30, "green": 70})
    first = await router.observe()
    await router.apply({"blue": 30, "green": 70})
    assert await router.observe() == first


async def test_reset_to_stable_sends_everything_there(router: Router) -> None:
    await router.apply({"green": 100} if _switch_only(router) else {"blue": 10, "green": 90})
    if isinstance(router, HeaderRouting):
        await router.set_header_route("green")
    await router.reset("blue")
    assert _named(await router.observe()) == {"blue": 100, "green": 0}
    await router.reset("blue")  # idempotent
    assert _named(await router.observe()) == {"blue": 100, "green": 0}
    if isinstance(router, FakeRouter):
        assert router.header_route is None
    elif hasattr(router, "header_route"):
        assert await router.header_route() is None


async def test_header_route_pins_and_unpins(router: Router) -> None:
    if isinstance(router, FakeRouter):
        await router.set_header_route("green")
        assert router.header_route == "green"
        return
    if not isinstance(router, HeaderRouting) or not hasattr(router, "header_route"):
        pytest.skip("driver has no HeaderRouting capability, or no way to read the route back")
    await router.set_header_route("green")
    assert await router.header_route() == "green"  # type: ignore[attr-defined]
    await router.set_header_route(None)
    assert await router.header_route() is None  # type: ignore[attr-defined]
    assert _named(await router.observe()) == {"blue": 100, "green": 0}  # weights untouched


async def test_backend_manager_replaces_the_set(router: Router) -> None:
    if not isinstance(router, BackendManager):
        pytest.skip("driver has no BackendManager capability")
    await router.set_backends({"green": "http://127.0.0.1:2"})
    observed = await router.observe()
    assert observed is not None and "blue" not in observed
    await router.apply({"green": 100})
    assert _named(await router.observe(), ("green",)) == {"green": 100}


async def test_stats_are_backend_windows(router: Router) -> None:
    if not isinstance(router, RouterStats):
        pytest.skip("driver does not see traffic")
    windows = await router.stats(10)
    assert set(windows) >= {"blue", "green"}
    for name, window in windows.items():
        assert isinstance(window, BackendWindow) and window.backend == name and window.requests >= 0


async def test_aclose_is_safe_twice(router: Router) -> None:
    await router.aclose()
    await router.aclose()


async def test_switch_only_refuses_a_split(router: Router) -> None:
    if not _switch_only(router):
        pytest.skip("the router splits traffic")
    await router.apply({"green": 100})
    assert _named(await router.observe()) == {"blue": 0, "green": 100}
    await router.apply({"blue": 100})  # the one named takes everything; the other is read back at 0
    assert _named(await router.observe()) == {"blue": 100, "green": 0}
    with pytest.raises(ValueError, match="one backend"):
        await router.apply({"blue": 50, "green": 50})
    assert _named(await router.observe()) == {"blue": 100, "green": 0}  # nothing written
    await router.apply({"blue": 100})  # idempotent
    assert _named(await router.observe()) == {"blue": 100, "green": 0}
