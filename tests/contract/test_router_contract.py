"""The contract every Router driver passes: apply, read back, reset, idempotence (+ optional capabilities).

To add a driver, add an async context factory to IMPLEMENTATIONS that yields a Router whose backends are
named "blue" and "green" (blue at 100 %).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenflag.config import load_spec
from greenflag.rollout.runtime import InProcessRouter
from greenflag.spec import HAProxyRouterSpec, RouterSpec
from greenflag.testing import FakeRouter
from greenflag.traffic.base import BackendManager, BackendWindow, HeaderRouting, Router, RouterStats
from greenflag.traffic.embedded.driver import EmbeddedRouterClient
from greenflag.traffic.embedded.server import EmbeddedRouter
from greenflag.traffic.haproxy_config import render_haproxy_config
from greenflag.traffic.registry import make_router
from tests.servers import haproxy_router, haproxy_server, nginx_for, nginx_spec
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


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def router(request: pytest.FixtureRequest) -> AsyncIterator[Router]:
    async with IMPLEMENTATIONS[request.param]() as r:
        yield r


def _named(weights: dict[str, int] | None, names: tuple[str, ...] = ("blue", "green")) -> dict[str, int]:
    assert weights is not None
    return {n: weights.get(n, 0) for n in names}


async def test_is_a_router(router: Any) -> None:
    assert isinstance(router, Router)


async def test_apply_then_observe_reads_back(router: Router) -> None:
    for weights in ({"blue": 90, "green": 10}, {"blue": 0, "green": 100}, {"blue": 50, "green": 50}):
        await router.apply(weights)
        assert _named(await router.observe()) == weights


async def test_apply_names_every_backend_absent_is_zero(router: Router) -> None:
    """A weight change replaces the router's weights: a backend it does not name gets 0 (never keeps its old
    share), so a rollback to {stable: 100} takes every request from the canary at once."""
    await router.apply({"blue": 100, "green": 50})
    assert _named(await router.observe()) == {"blue": 100, "green": 50}
    await router.apply({"blue": 100})
    assert _named(await router.observe()) == {"blue": 100, "green": 0}
    await router.apply({"green": 7})
    assert _named(await router.observe()) == {"blue": 0, "green": 7}


async def test_apply_is_idempotent(router: Router) -> None:
    await router.apply({"blue": 30, "green": 70})
    first = await router.observe()
    await router.apply({"blue": 30, "green": 70})
    assert await router.observe() == first


async def test_reset_to_stable_sends_everything_there(router: Router) -> None:
    await router.apply({"blue": 10, "green": 90})
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
