"""The nginx driver against a real nginx (the Debian package) on 127.0.0.1, configured with the output of
`greenflag router nginx-config`, in front of real reference-service processes: weights and header routes steer real
traffic, a slot at weight 0 gets nothing, switches through reloads under keep-alive load fail nothing, a failed
`nginx -t` keeps the old file, observe() says None whenever it cannot verify, and stats come from the access log."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from greenflag.config import load_spec
from greenflag.demo.process import DemoAppProcess, run_demo_app
from greenflag.load.engine.paced import PacedLoad
from greenflag.spec import NginxRouterSpec
from greenflag.traffic.nginx import NginxRouter, NginxStatsRouter, make_nginx_router
from greenflag.traffic.nginx_conf import parse_upstream, render_upstream
from tests.integration.traffic.support import versions
from tests.servers import nginx_for, nginx_spec
from tests.support import free_port, greenflag_cmd, release_spec, until_answered, wait_until_async

pytestmark = pytest.mark.timeout(120)


@dataclass
class Env:
    prefix: Path
    spec_file: Path
    spec: NginxRouterSpec
    url: str
    apps: dict[str, DemoAppProcess]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    prefix = tmp_path_factory.mktemp("nginx")
    with run_demo_app("v1") as v1, run_demo_app("v2") as v2, run_demo_app("v3", ["--error-rate", "1"]) as v3:
        servers = {"blue": f"127.0.0.1:{v1.port}", "green": f"127.0.0.1:{v2.port}"}
        router, port = nginx_spec(prefix, servers, drain_timeout="5s")
        spec_file = prefix / "greenflag.yaml"
        spec_file.write_text(yaml.safe_dump(release_spec("shop", router=router, strategy={"canary": {"steps": [
            {"set_weight": 10}]}})))  # fmt: skip
        with nginx_for(spec_file, prefix, via_cli=True):
            spec = load_spec(spec_file).router
            assert isinstance(spec, NginxRouterSpec)
            yield Env(prefix, spec_file, spec, f"http://127.0.0.1:{port}", {"v1": v1, "v2": v2, "v3": v3})


def stats_router(env: Env) -> NginxStatsRouter:
    router = make_nginx_router(env.spec)
    assert isinstance(router, NginxStatsRouter)
    return router


async def all_logged(router: NginxStatsRouter, count: int) -> None:
    """Until the driver has read `count` requests from the log: the last line may come just after its response."""

    async def logged() -> bool:
        windows = await router.stats(60)
        return sum(w.requests for w in windows.values()) >= count

    await wait_until_async(logged, what=f"the {count} requests in nginx's access log")


async def logged_so_far(env: Env, router: NginxStatsRouter) -> None:
    """Until nginx has logged every request answered so far. It writes a request's line just after the response,
    so an earlier test's last line can still come: one request blue answers 404, and its line awaited (nginx runs
    one worker here, which writes the lines in the order the requests end)."""
    assert await versions(env.url, 1, path="/no-such-page") == {"v1": 1}

    async def marker_logged() -> bool:
        return (await router.stats(60))["blue"].responses.get("4xx", 0) >= 1

    await wait_until_async(marker_logged, what="the marker request's line in nginx's access log")


@pytest.fixture
async def router(env: Env) -> AsyncIterator[NginxStatsRouter]:
    """blue = v1 at 100 %, green = v2 at 0 %, no pinned header route; its stats start after every earlier line."""
    setup = stats_router(env)
    await setup.set_backends({"blue": env.apps["v1"].url, "green": env.apps["v2"].url})
    await setup.apply({"blue": 100})
    await setup.set_header_route(None)
    await logged_so_far(env, setup)
    await setup.aclose()
    router = stats_router(env)  # a driver's windows start when it is made
    yield router
    await router.aclose()


async def test_weights_and_header_routes_steer_real_traffic(env: Env, router: NginxStatsRouter) -> None:
    assert await versions(env.url, 10) == {"v1": 10}
    assert await versions(env.url, 5, {"X-Greenflag-Route": "green"}) == {"v2": 5}  # at weight 0
    await router.apply({"blue": 0, "green": 100})
    assert await router.observe() == {"blue": 0, "green": 100}
    assert await versions(env.url, 10) == {"v2": 10}
    await router.set_header_route("blue")  # pinned: every request carrying the header, whatever its value
    assert await router.header_route() == "blue"
    assert await versions(env.url, 5, {"X-Greenflag-Route": "anything"}) == {"v1": 5}
    assert await versions(env.url, 5) == {"v2": 5}
    await router.reset("blue")
    assert await versions(env.url, 5, {"X-Greenflag-Route": "anything"}) == {"v1": 5}  # no route: by weight


async def test_a_slot_at_weight_0_receives_nothing(env: Env, router: NginxStatsRouter) -> None:
    assert "down;  # green: weight 0" in router.path.read_text()  # nginx has no weight 0: `down`
    seen = await versions(env.url, 300, path="/about")
    assert seen == {"v1": 300}
    await all_logged(router, 300)
    windows = await router.stats(60)
    assert windows["green"].requests == 0 and windows["blue"].requests == 300  # nginx's own log agrees


@pytest.mark.parametrize("pid_file", [True, False], ids=["old workers checked", "settle without pid_file"])
async def test_switches_through_reloads_under_keepalive_load_fail_nothing(
    env: Env, router: NginxStatsRouter, pid_file: bool
) -> None:
    if not pid_file:
        await router.aclose()
        router = NginxStatsRouter(env.spec.model_copy(update={"pid_file": None}))
    load = PacedLoad(env.url + "/about", 200, record=True)
    task = asyncio.create_task(load.run(max_requests=5000))
    last: list[float] = []
    try:
        for weights in ({"blue": 90, "green": 10}, {"blue": 50, "green": 50}, {"blue": 10, "green": 90},
                        {"blue": 50, "green": 50}, {"blue": 0, "green": 100}):  # fmt: skip
            await until_answered(load, 80)  # at the weights before
            await router.apply(weights)  # a reload each
            assert await router.observe() == weights
        last.append(asyncio.get_running_loop().time())
        await until_answered(load, 200, sent_after=last[0])
    finally:
        load.stop.set()
        await task
    classes = load.classes()
    assert classes["2xx"] > 400 and set(classes) == {"2xx"}, load.counts  # no 5xx, no transport failure
    after = Counter(version for sent, _, version, _ in load.log if sent > last[0])
    assert after["v2"] > 100 and after["v1"] == 0, after  # nothing sent after apply returned reached blue
    await router.aclose()


async def test_a_free_slot_is_pointed_at_a_new_version_while_traffic_stays_put(
    env: Env, router: NginxStatsRouter
) -> None:
    load = PacedLoad(env.url + "/about", 100)
    task = asyncio.create_task(load.run(max_requests=2000))
    try:
        await until_answered(load, 30)
        await router.set_backends({"v1": env.apps["v1"].url, "v3": env.apps["v3"].url})
        names = await router.backends()
        assert (names["v1"]["slot"], names["v3"]["slot"]) == ("blue", "green")  # v1 found by its address
        assert await router.observe() == {"v1": 100, "v3": 0}
        await until_answered(load, 30)
    finally:
        load.stop.set()
        await task
    assert set(load.counts) == {"v1 2xx"}, load.counts
    assert await versions(env.url, 3, {"X-Greenflag-Route": "v3"}) == {"v3": 3}  # by version name
    await router.set_backends({"v1": env.apps["v1"].url})
    assert await router.observe() == {"v1": 100}
    assert "v3" not in router.path.read_text().split("map $http_x_greenflag_route")[1]


async def test_stats_come_from_nginx_s_access_log(env: Env, router: NginxStatsRouter) -> None:
    await router.set_backends({"blue": env.apps["v1"].url, "green": env.apps["v3"].url})  # v3 answers 500
    await versions(env.url, 7, {"X-Greenflag-Route": "blue"}, path="/about")
    await versions(env.url, 4, {"X-Greenflag-Route": "green"}, path="/about")
    await all_logged(router, 11)
    windows = await router.stats(60)
    assert (windows["blue"].requests, windows["blue"].errors) == (7, 0)
    assert (windows["green"].requests, windows["green"].errors, windows["green"].error_rate) == (4, 4, 1.0)
    assert sum(c for _, c in windows["blue"].latency_buckets) == 7 and windows["blue"].p95_ms is not None


async def test_a_failed_nginx_test_or_reload_keeps_the_old_file_and_what_nginx_runs(
    env: Env, router: NginxStatsRouter
) -> None:
    before = router.path.read_text()
    conf = env.prefix / "nginx.conf"
    good = conf.read_text()
    conf.write_text(good.replace("http {", "http {\n    not_a_directive on;", 1))  # someone broke nginx.conf
    try:
        with pytest.raises(ConnectionError, match=r"router\.test: .*unknown directive \"not_a_directive\""):
            await router.apply({"blue": 0, "green": 100})
    finally:
        conf.write_text(good)
    assert router.path.read_text() == before and await router.observe() == {"blue": 100, "green": 0}
    failing = NginxRouter(env.spec.model_copy(update={"reload": ["false"]}))
    with pytest.raises(ConnectionError, match=r"router\.reload: false failed \(exit 1\)"):
        await failing.apply({"blue": 0, "green": 100})
    assert router.path.read_text() == before and await versions(env.url, 5) == {"v1": 5}
    await failing.aclose()


async def test_observe_is_none_whenever_it_cannot_verify(env: Env, router: NginxStatsRouter) -> None:
    assert await router.observe() == {"blue": 100, "green": 0}
    nowhere = NginxRouter(env.spec.model_copy(update={"status_url": f"http://127.0.0.1:{free_port()}/s"}))
    assert await nowhere.observe() is None  # nginx cannot be asked which file it runs
    await nowhere.aclose()
    text = router.path.read_text()
    router.path.write_text(text.replace("weight=100;", "weight=99;"))  # edited by hand
    assert await router.observe() is None
    parsed = parse_upstream(text)
    assert parsed is not None
    router.path.write_text(render_upstream(dataclasses.replace(parsed, weights={"blue": 0, "green": 100})))
    assert await router.observe() is None  # greenflag's own rendering, but not what nginx runs (no reload)
    router.path.write_text(text)
    assert await router.observe() == {"blue": 100, "green": 0}


async def test_commands_are_argument_lists_never_a_shell(env: Env, tmp_path: Path) -> None:
    data = yaml.safe_load(env.spec_file.read_text())
    data["router"]["test"] = f"/bin/echo ok ; touch {tmp_path}/pwned $(touch {tmp_path}/pwned2)"
    path = tmp_path / "greenflag.yaml"
    path.write_text(yaml.safe_dump(data))
    spec = load_spec(path).router
    assert isinstance(spec, NginxRouterSpec) and spec.test[:3] == ["/bin/echo", "ok", ";"]
    router = make_nginx_router(spec)
    await router.apply({"blue": 100, "green": 0})
    await router.apply({"blue": 100})
    assert list(tmp_path.iterdir()) == [path]  # echo printed the words; no shell ran them
    await router.aclose()


async def test_cli_set_weights_and_status_through_the_spec_file(env: Env, router: NginxStatsRouter) -> None:
    cmd = greenflag_cmd("router", "set-weights", "blue=0", "green=100", "-f", str(env.spec_file))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "weights: blue=0 green=100"  # read back: the file nginx runs
    assert await versions(env.url, 5) == {"v2": 5}
    status_cmd = greenflag_cmd("router", "status", "--json", "-f", str(env.spec_file))
    status = subprocess.run(status_cmd, capture_output=True, text=True, timeout=30)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["weights"] == {"blue": 0, "green": 100}
    assert data["backends"]["green"] == {"slot": "green", "address": env.spec.servers["green"], "weight": 100,
                                         "state": "active", "live": True}  # fmt: skip
