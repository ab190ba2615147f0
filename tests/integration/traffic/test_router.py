"""The embedded router in front of two real reference-service processes: routing, admin API, stats, retries."""

from __future__ import annotations

import aiohttp
import pytest

from greenflag.demo.process import DemoAppProcess
from greenflag.traffic.embedded.driver import AdminError, EmbeddedRouterClient
from greenflag.traffic.embedded.server import EmbeddedRouter
from tests.integration.traffic.support import TOKEN, make_router, version_of
from tests.support import free_port, wait_until_async

pytestmark = pytest.mark.timeout(120)


async def test_traffic_splits_by_weight_within_tolerance(router: EmbeddedRouter) -> None:
    router.set_weights({"blue": 80, "green": 20})
    n = 1000
    seen = {"v1": 0, "v2": 0}
    async with aiohttp.ClientSession() as session:
        for _ in range(n):
            seen[await version_of(session, router.url + "/version")] += 1
    # binomial(1000, 0.2): sd ≈ 12.6; 5 sd keeps the test deterministic in practice
    assert abs(seen["v2"] - 200) < 5 * 12.7, seen


async def test_header_route_reaches_a_zero_weight_backend(router: EmbeddedRouter) -> None:
    async with aiohttp.ClientSession() as session:
        assert await version_of(session, router.url + "/") == "v1"
        assert await version_of(session, router.url + "/", {"X-Greenflag-Route": "green"}) == "v2"
        router.set_header_route("green")  # pinned: any value of the header goes to green
        assert await version_of(session, router.url + "/", {"X-Greenflag-Route": "yes"}) == "v2"
        assert await version_of(session, router.url + "/") == "v1"
        router.reset()
        assert router.header_route() is None


async def test_sticky_cookie_pins_until_weight_zero(backends: dict[str, DemoAppProcess]) -> None:
    r = await make_router({n: b.url for n, b in backends.items()}, {"blue": 50, "green": 50}, sticky=True)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            first = await version_of(session, r.url + "/")
            for _ in range(30):
                assert await version_of(session, r.url + "/") == first
            pinned, other = ("blue", "green") if first == "v1" else ("green", "blue")
            r.set_weights({pinned: 0, other: 100})
            moved = await version_of(session, r.url + "/")
            assert moved != first
            r.set_weights({pinned: 50, other: 50})
            for _ in range(10):
                assert await version_of(session, r.url + "/") == moved  # re-pinned to the new one
    finally:
        await r.stop(grace=1.0)


async def test_admin_api_needs_the_token(router: EmbeddedRouter) -> None:
    assert router.admin_url is not None
    async with aiohttp.ClientSession() as session:
        for method, path in [("GET", "/weights"), ("PUT", "/weights"), ("GET", "/backends"), ("GET", "/stats"),
                             ("GET", "/metrics"), ("GET", "/healthz"), ("POST", "/reset")]:  # fmt: skip
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                async with session.request(method, router.admin_url + path, headers=headers) as resp:
                    assert resp.status == 401, (method, path, headers)
    bad = EmbeddedRouterClient(router.admin_url, "nope")
    with pytest.raises(AdminError, match="401"):
        await bad.observe()
    await bad.aclose()


async def test_driver_weights_backends_stats_match_what_clients_saw(router: EmbeddedRouter) -> None:
    assert router.admin_url is not None
    client = EmbeddedRouterClient(router.admin_url, TOKEN)
    try:
        await client.apply({"blue": 0, "green": 100})
        assert await client.observe() == {"blue": 0, "green": 100}
        seen: dict[int, int] = {}
        async with aiohttp.ClientSession() as session:
            for i in range(60):
                async with session.get(router.url + ("/" if i % 3 else "/missing")) as resp:
                    await resp.read()
                    seen[resp.status] = seen.get(resp.status, 0) + 1
        stats = await client.stats(60)
        green = stats["green"]
        assert green.requests == 60
        assert green.responses == {"2xx": seen[200], "4xx": seen[404]}
        assert green.transport_errors == 0
        assert sum(c for _, c in green.latency_buckets) == 60
        assert green.p50_ms is not None and green.p99_ms is not None and 0 < green.p50_ms <= green.p99_ms
        assert stats["blue"].requests == 0
        states = await client.backends()
        assert states["blue"]["state"] == "drained" and states["green"]["state"] == "active"
        with pytest.raises(AdminError, match="unknown backend"):
            await client.apply({"purple": 1})
        with pytest.raises(AdminError, match="non-negative integer"):
            await client.apply({"blue": -1})
    finally:
        await client.aclose()


async def test_metrics_endpoint_is_prometheus_text(router: EmbeddedRouter) -> None:
    assert router.admin_url is not None
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
        for _ in range(5):
            async with session.get(router.url + "/") as resp:
                await resp.read()
        async with session.get(router.admin_url + "/metrics") as resp:
            text = await resp.text()
    assert 'greenflag_router_requests_total{backend="blue"} 5.0' in text
    assert 'greenflag_router_responses_total{backend="blue",code="2xx"} 5.0' in text
    assert "greenflag_router_request_duration_seconds_bucket" in text


async def test_get_retried_on_another_backend_when_connect_fails(backends: dict[str, DemoAppProcess]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    r = await make_router({"blue": backends["blue"].url, "dead": dead}, {"blue": 50, "dead": 50})
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(40):
                assert await version_of(session, r.url + "/") == "v1"
        assert r.backend_states()["dead"].state == "down"
        assert r.stats(60)["dead"].requests == 0  # retried connects are not requests the client saw fail
    finally:
        await r.stop(grace=1.0)


async def test_set_backends_adds_and_drains_removed(
    router: EmbeddedRouter, backends: dict[str, DemoAppProcess]
) -> None:
    router.set_backends({"green": backends["green"].url, "blue2": backends["blue"].url})
    assert set(router.backend_states()) == {"green", "blue2"}
    assert router.weights() == {"green": 0, "blue2": 0}
    router.set_weights({"green": 100})
    async with aiohttp.ClientSession() as session:
        assert await version_of(session, router.url + "/") == "v2"
        router.set_weights({"green": 0, "blue2": 1})
        assert await version_of(session, router.url + "/") == "v1"
    with pytest.raises(ValueError, match="unknown backend"):
        router.set_weights({"blue": 1})


async def test_down_backend_comes_back_when_it_answers(backends: dict[str, DemoAppProcess]) -> None:
    from aiohttp import web

    port = free_port()
    r = await make_router({"blue": backends["blue"].url, "late": f"http://127.0.0.1:{port}"}, {"blue": 1, "late": 1})
    runner: web.AppRunner | None = None
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(20):
                await version_of(session, r.url + "/")
            assert r.backend_states()["late"].state == "down"

            async def late(_: web.Request) -> web.Response:
                return web.Response(text="late", headers={"X-Greenflag-Version": "late"})

            app = web.Application()
            app.router.add_get("/", late)
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            await wait_until_async(lambda: _state_is(r, "late", "active"), timeout=10, what="late backend back up")
            seen = {await version_of(session, r.url + "/") for _ in range(40)}
            assert seen == {"v1", "late"}
    finally:
        await r.stop(grace=1.0)
        if runner is not None:
            await runner.cleanup()


async def _state_is(router: EmbeddedRouter, name: str, state: str) -> bool:
    return router.backend_states()[name].state == state


async def test_client_closing_a_stream_frees_the_backend(router: EmbeddedRouter) -> None:
    async with aiohttp.ClientSession() as session:
        resp = await session.get(router.url + "/events")
        await resp.content.readline()
        assert router.backend_states()["blue"].in_flight == 1
        resp.close()
    await wait_until_async(lambda: _in_flight_is(router, "blue", 0), timeout=10, what="stream released")


async def _in_flight_is(router: EmbeddedRouter, name: str, n: int) -> bool:
    return router.backend_states()[name].in_flight == n
