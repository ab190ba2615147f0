"""The HAProxy driver against a real HAProxy (the Debian package) on 127.0.0.1, configured with the output of
`greenflag router haproxy-config`, in front of real reference-service processes: weights and header routes steer
real traffic, switches under load fail nothing, a free slot is pointed at a new version without moving traffic,
stats count what HAProxy saw, and the CLI's set-weights/status work through the spec file."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import yaml

from greenflag.config import load_spec
from greenflag.demo.process import DemoAppProcess, run_demo_app
from greenflag.load.engine.paced import PacedLoad
from greenflag.spec import HAProxyRouterSpec
from greenflag.traffic.haproxy import HAProxyHeaderRouter, make_haproxy_router
from tests.integration.traffic.support import versions
from tests.servers import haproxy_router, haproxy_server
from tests.support import free_port, greenflag_cmd, release_spec, until_answered, wait_until_async

pytestmark = pytest.mark.timeout(120)


@dataclass
class Env:
    spec_file: Path
    spec: HAProxyRouterSpec
    url: str
    apps: dict[str, DemoAppProcess]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("haproxy")
    port = free_port()
    with run_demo_app("v1") as v1, run_demo_app("v2") as v2, run_demo_app("v3", ["--error-rate", "1"]) as v3:
        router = haproxy_router(tmp, listen=f"127.0.0.1:{port}", drain_timeout="1s")
        spec_file = tmp / "greenflag.yaml"
        spec_file.write_text(yaml.safe_dump(release_spec("shop", router=router, strategy={"canary": {"steps": [
            {"set_weight": 10}]}}, health={"readiness": {"http": "/healthz/ready"}})))  # fmt: skip
        config = subprocess.run(
            greenflag_cmd("router", "haproxy-config", "-f", str(spec_file), "--server", f"blue=127.0.0.1:{v1.port}",
                          "--server", f"green=127.0.0.1:{v2.port}", "--slowstart", "0s"),
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        with haproxy_server(config, tmp, port):
            spec = load_spec(spec_file).router
            assert isinstance(spec, HAProxyRouterSpec)
            yield Env(spec_file, spec, f"http://127.0.0.1:{port}", {"v1": v1, "v2": v2, "v3": v3})


@pytest.fixture
async def router(env: Env) -> AsyncIterator[HAProxyHeaderRouter]:
    """blue = v1 at 100 %, green = v2 at 0 %, no pinned header route; both servers up."""
    router = make_haproxy_router(env.spec)
    assert isinstance(router, HAProxyHeaderRouter)
    await router.set_backends({"blue": env.apps["v1"].url, "green": env.apps["v2"].url})
    await router.apply({"blue": 100})
    await router.set_header_route(None)

    async def both_up() -> bool:
        return all(b["status"] == "UP" for b in (await router.backends()).values())

    await wait_until_async(both_up, timeout=15, what="both servers UP")
    yield router
    await router.aclose()


async def test_weights_and_header_routes_steer_real_traffic(env: Env, router: HAProxyHeaderRouter) -> None:
    assert await versions(env.url, 20) == {"v1": 20}
    assert await versions(env.url, 5, {"X-Greenflag-Route": "green"}) == {"v2": 5}  # at weight 0
    await router.apply({"blue": 0, "green": 100})
    assert await router.observe() == {"blue": 0, "green": 100}
    assert await versions(env.url, 20) == {"v2": 20}
    await router.set_header_route("blue")  # pinned: every request carrying the header, whatever its value
    assert await versions(env.url, 5, {"X-Greenflag-Route": "anything"}) == {"v1": 5}
    assert await versions(env.url, 5) == {"v2": 5}
    await router.reset("blue")
    assert await router.header_route() is None
    assert await versions(env.url, 10, {"X-Greenflag-Route": "anything"}) == {"v1": 10}  # no route: by weight


async def test_switches_under_load_fail_nothing_and_apply_returns_once_nothing_new_reaches_the_old(
    env: Env, router: HAProxyHeaderRouter
) -> None:
    load = PacedLoad(env.url + "/about", 200, record=True)
    task = asyncio.create_task(load.run(max_requests=4000))
    switched: list[float] = []
    try:
        for weights in ({"blue": 90, "green": 10}, {"blue": 50, "green": 50}, {"blue": 0, "green": 100}):
            await until_answered(load, 100)  # at the weights before
            await router.apply(weights)
            assert await router.observe() == weights
        switched.append(asyncio.get_running_loop().time())
        await until_answered(load, 200, sent_after=switched[0])
    finally:
        load.stop.set()
        await task
    assert load.classes()["2xx"] > 300 and set(load.classes()) == {"2xx"}, load.counts
    after = Counter(version for sent, _, version, _ in load.log if sent > switched[0])
    assert after["v2"] > 100 and after["v1"] == 0, after  # nothing sent after apply returned reached blue


async def test_a_free_slot_is_pointed_at_a_new_version_while_traffic_stays_put(
    env: Env, router: HAProxyHeaderRouter
) -> None:
    load = PacedLoad(env.url + "/about", 100, record=True)
    task = asyncio.create_task(load.run(max_requests=2000))
    try:
        await until_answered(load, 30)
        await router.set_backends({"v1": env.apps["v1"].url, "v3": env.apps["v3"].url})
        names = await router.backends()
        assert names["v1"]["slot"] == "blue" and names["v3"]["slot"] == "green"  # v1 found by its address
        assert names["v3"]["address"] == f"127.0.0.1:{env.apps['v3'].port}"
        assert await router.observe() == {"v1": 100, "v3": 0}  # a new backend starts at 0
        await until_answered(load, 30)
    finally:
        load.stop.set()
        await task
    assert set(load.counts) == {"v1 2xx"}, load.counts  # nothing moved, nothing failed
    assert await versions(env.url, 3, {"X-Greenflag-Route": "v3"}) == {"v3": 3}  # by version name
    await router.set_backends({"v1": env.apps["v1"].url})  # v3 taken out: its slot drains
    assert (await router.backends()).keys() == {"v1"}
    state = await router.api.servers("app")
    assert (state["s_green"].mode, state["s_green"].weight) == ("drain", 0)
    assert "v3" not in await router.api.map_entries(env.spec.route_map or "")
    with pytest.raises(ValueError, match="an IP address"):
        await router.set_backends(
            {"v1": env.apps["v1"].url, "v2": env.apps["v2"].url.replace("127.0.0.1", "localhost")}
        )


async def test_stats_count_what_haproxy_served_per_backend(env: Env, router: HAProxyHeaderRouter) -> None:
    await router.set_backends({"blue": env.apps["v1"].url, "green": env.apps["v3"].url})  # v3 answers 500
    await router.stats(60)  # the first sample: windows start here
    await versions(env.url, 7, {"X-Greenflag-Route": "blue"})
    await versions(env.url, 4, {"X-Greenflag-Route": "green"}, path="/about")  # faults hit application pages
    windows = await router.stats(60)
    assert (windows["blue"].requests, windows["blue"].errors) == (7, 0)
    assert (windows["green"].requests, windows["green"].errors, windows["green"].error_rate) == (4, 4, 1.0)
    assert windows["green"].latency_buckets == ()  # HAProxy keeps no latency histogram


async def test_open_requests_are_the_sessions_haproxy_holds_on_each_server(
    env: Env, router: HAProxyHeaderRouter
) -> None:
    """What a rollout waits on before it stops a version: three event streams held open on green count 3 there,
    none on blue, and 0 once they are closed."""

    async def counts(expected: dict[str, int]) -> None:
        async def reached() -> bool:
            return await router.open_requests() == expected

        await wait_until_async(reached, what=f"open requests {expected}")

    await counts({"blue": 0, "green": 0})
    async with aiohttp.ClientSession() as session:
        route = {"X-Greenflag-Route": "green"}
        streams = [await session.get(env.url + "/events", headers=route) for _ in range(3)]
        try:
            assert all(s.status == 200 and s.headers["X-Greenflag-Version"] == "v2" for s in streams)
            await counts({"blue": 0, "green": 3})
        finally:
            for stream in streams:
                stream.close()
    await counts({"blue": 0, "green": 0})


async def test_cli_set_weights_and_status_through_the_spec_file(env: Env, router: HAProxyHeaderRouter) -> None:
    cmd = greenflag_cmd("router", "set-weights", "blue=0", "green=100", "-f", str(env.spec_file))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "weights: blue=0 green=100"  # read back from HAProxy
    assert await router.observe() == {"blue": 0, "green": 100}
    status = subprocess.run(
        greenflag_cmd("router", "status", "--json", "-f", str(env.spec_file)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["weights"] == {"blue": 0, "green": 100}
    assert data["backends"]["green"]["server"] == "s_green" and data["backends"]["green"]["status"] == "UP"
    bad = subprocess.run(
        greenflag_cmd("router", "set-weights", "blue=300", "-f", str(env.spec_file)), capture_output=True, text=True
    )
    assert bad.returncode == 2 and "at most 256" in bad.stderr and "Traceback" not in bad.stderr


async def test_a_server_missing_from_haproxy_and_an_unreachable_socket_are_clear_errors(env: Env) -> None:
    wrong = env.spec.model_copy(update={"servers": {"blue": "s_blue", "green": "s_gren"}})
    with pytest.raises(ConnectionError, match=r"has no server s_gren .*check router.backend and router.servers"):
        await make_haproxy_router(wrong).observe()
    gone = env.spec.model_copy(update={"socket": str(Path(env.spec.socket).parent / "missing.sock")})
    with pytest.raises(ConnectionError, match=r"missing\.sock"):
        await make_haproxy_router(gone).apply({"blue": 100})


async def test_a_route_map_haproxy_forgot_is_filled_again_by_the_next_change(
    env: Env, router: HAProxyHeaderRouter
) -> None:
    await router.api.run("clear", "map", env.spec.route_map or "")  # as after an HAProxy reload with an empty file
    assert await versions(env.url, 3, {"X-Greenflag-Route": "green"}) == {"v1": 3}  # no entry: by weight
    fresh = make_haproxy_router(env.spec)  # e.g. `greenflag router set-weights`
    await fresh.apply({"blue": 100})
    assert await versions(env.url, 3, {"X-Greenflag-Route": "green"}) == {"v2": 3}
