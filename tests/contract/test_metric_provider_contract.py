"""The contract every MetricProvider passes: fetch one value per backend, change nothing by fetching, and turn
every failure into an Error observation (a provider never raises and never judges).

Each implementation is built the way a user configures it (`create_provider` from a metric spec) against a real
source on 127.0.0.1 that holds the same data: 3 for backend "blue", 5 for "green", nothing for anyone else.
To add a provider, add a factory to IMPLEMENTATIONS that yields a `Source`: the provider, the query that reads
that number, and the same provider pointed at a source that is not there. Loopback servers shared with other
tests are in tests/servers.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from greenflag.analysis.providers.base import MetricProvider, Observation
from greenflag.analysis.providers.registry import create_provider
from greenflag.spec import HAProxyRouterSpec, MetricSpec, RouterSpec
from greenflag.testing import FakeProvider
from greenflag.traffic.embedded.server import EmbeddedRouter
from greenflag.traffic.haproxy_config import render_haproxy_config
from greenflag.traffic.registry import make_router
from tests.servers import (
    AWS_TEST_ENV,
    haproxy_router,
    haproxy_server,
    moto_server,
    prometheus_server,
    scrape_job,
    serve_static,
)
from tests.support import free_port, http_get, wait_until

pytestmark = pytest.mark.timeout(120)

EXPECTED = {"blue": 3, "green": 5}
WINDOW_S = 60.0


@dataclass
class Source:
    provider: MetricProvider
    query: str
    down: MetricProvider  # the same kind of provider, pointed at a source that is not there


Factory = Callable[[pytest.FixtureRequest], contextlib.AbstractAsyncContextManager[Source]]


def metric(provider: str, query: str, **fields: Any) -> MetricSpec:
    return MetricSpec.model_validate({"name": "m", "provider": provider, "query": query, **fields})


def nowhere() -> str:
    return f"http://127.0.0.1:{free_port()}"


# -- the sources: one data set, several real servers ---------------------------------------------------------------


@pytest.fixture(scope="module")
def static() -> Iterator[str]:
    """Serves the data set as JSON (per backend) and as Prometheus text (for Prometheus to scrape)."""
    pages = {
        f"/value?backend={b}": ("application/json", json.dumps({"value": n}).encode()) for b, n in EXPECTED.items()
    }
    lines = "".join(f'contract_requests{{backend="{b}"}} {n}\n' for b, n in EXPECTED.items())
    pages["/metrics"] = ("text/plain; version=0.0.4", lines.encode())
    with serve_static(pages) as url:
        yield url


@pytest.fixture(scope="module")
def prometheus_address(static: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("prometheus") is None:
        pytest.skip("needs the prometheus Debian package")
    job = scrape_job("greenflag-test", static.removeprefix("http://"))
    with prometheus_server(tmp_path_factory.mktemp("prometheus"), [job]) as address:

        def scraped() -> bool:
            status, body = http_get(address + "/api/v1/query?query=contract_requests")
            return status == 200 and len(json.loads(body)["data"]["result"]) == len(EXPECTED)

        wait_until(scraped, timeout=60, interval=0.25, what="prometheus to scrape the data set")
        yield address


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    import boto3

    with pytest.MonkeyPatch.context() as patch:
        for key, value in AWS_TEST_ENV.items():
            patch.setenv(key, value)
        with moto_server() as endpoint:
            client = boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=endpoint)
            at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
            client.put_metric_data(
                Namespace="Greenflag/Contract",
                MetricData=[
                    {"MetricName": "Requests", "Dimensions": [{"Name": "Backend", "Value": b}], "Value": n,
                     "Timestamp": at}
                    for b, n in EXPECTED.items()
                ],
            )  # fmt: skip
            yield endpoint


# -- the implementations -------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[Source]:
    provider = FakeProvider()
    for backend, value in EXPECTED.items():
        provider.push("requests", value, backend=backend)
    down = FakeProvider()
    down.push("requests", ConnectionError("the source is down"))
    yield Source(provider, "requests", down)


@contextlib.asynccontextmanager
async def router(request: pytest.FixtureRequest) -> AsyncIterator[Source]:
    """The embedded router's own stats, read through its admin API, after 3 requests to blue and 5 to green."""
    static: str = request.getfixturevalue("static")
    spec = RouterSpec(listen="127.0.0.1:0", admin="127.0.0.1:0", backends={"blue": static, "green": static})
    server = EmbeddedRouter(spec, admin_token="contract")
    await server.start()
    assert server.admin_url is not None
    stats = make_router(spec, admin_url=server.admin_url, token="contract")
    unreachable = make_router(spec, admin_url=nowhere(), token="contract")
    try:
        async with aiohttp.ClientSession() as session:
            for backend, count in EXPECTED.items():
                for _ in range(count):
                    async with session.get(server.url + "/metrics", headers={spec.route_header: backend}) as r:
                        assert r.status == 200
                        await r.read()
        spec_metric = metric("router", "requests")
        yield Source(
            create_provider(spec_metric, router=stats),
            "requests",
            create_provider(spec_metric, router=unreachable),
        )
    finally:
        await stats.aclose()
        await unreachable.aclose()
        await server.stop(grace=0.5)


@contextlib.asynccontextmanager
async def prometheus(request: pytest.FixtureRequest) -> AsyncIterator[Source]:
    address: str = request.getfixturevalue("prometheus_address")
    query = 'contract_requests{backend="{{backend}}"}'
    yield Source(
        create_provider(metric("prometheus", query, address=address)),
        query,
        create_provider(metric("prometheus", query, address=nowhere(), options={"timeout": 2})),
    )


@contextlib.asynccontextmanager
async def cloudwatch(request: pytest.FixtureRequest) -> AsyncIterator[Source]:
    endpoint: str = request.getfixturevalue("moto_endpoint")
    options = {"region": "us-east-1", "dimensions": {"Backend": "{{backend}}"}, "stat": "Sum", "period": 300}
    query = "Greenflag/Contract:Requests"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in AWS_TEST_ENV.items():
            patch.setenv(key, value)
        yield Source(
            create_provider(metric("cloudwatch", query, options={**options, "endpoint_url": endpoint})),
            query,
            create_provider(metric("cloudwatch", query, options={**options, "endpoint_url": nowhere(), "timeout": 2})),
        )


@contextlib.asynccontextmanager
async def http_json(request: pytest.FixtureRequest) -> AsyncIterator[Source]:
    static: str = request.getfixturevalue("static")
    path = "/value?backend={{backend}}"
    yield Source(
        create_provider(metric("http_json", "", url=static + path, json_path="$.value")),
        "",
        create_provider(metric("http_json", "", url=nowhere() + path, json_path="$.value", options={"timeout": 2})),
    )


@pytest.fixture(scope="module")
def haproxy_static(static: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real HAProxy whose two servers both forward to the data set's static server; yields (socket, frontend)."""
    directory = tmp_path_factory.mktemp("haproxy")
    spec = HAProxyRouterSpec.model_validate(haproxy_router(directory, routes="blue s_blue\ngreen s_green\n"))
    port = free_port()
    upstream = static.removeprefix("http://")
    addresses = {"blue": upstream, "green": upstream}
    config = render_haproxy_config(spec, listen=f"127.0.0.1:{port}", addresses=addresses, check_path="/metrics")
    with haproxy_server(config, directory, port):
        yield spec.socket, f"http://127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def haproxy(request: pytest.FixtureRequest) -> AsyncIterator[Source]:
    """HAProxy's own counters (`show stat`) after 3 requests through it to blue and 5 to green (by route header)."""
    socket, frontend = request.getfixturevalue("haproxy_static")
    options = {"backend": "app", "servers": {"blue": "s_blue", "green": "s_green"}}
    provider = create_provider(metric("haproxy", "requests", address=socket, options=options))
    for backend in EXPECTED:  # the provider's first look: its windows start here
        assert (await provider.query("requests", backend=backend, window_s=WINDOW_S)).value == 0
    async with aiohttp.ClientSession() as session:
        for backend, count in EXPECTED.items():
            for _ in range(count):
                async with session.get(frontend + "/metrics", headers={"X-Greenflag-Route": backend}) as r:
                    assert r.status == 200
                    await r.read()
    down = create_provider(
        metric("haproxy", "requests", address=str(Path(socket).parent / "none.sock"), options=options)
    )
    yield Source(provider, "requests", down)


IMPLEMENTATIONS: dict[str, Factory] = {
    "fake": fake,
    "router": router,
    "prometheus": prometheus,
    "cloudwatch": cloudwatch,
    "http_json": http_json,
    "haproxy": haproxy,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def source(request: pytest.FixtureRequest) -> AsyncIterator[Source]:
    async with IMPLEMENTATIONS[request.param](request) as s:
        yield s


def number(value: Any) -> float:
    """The one number in a provider's value: a number, or a list holding one."""
    if isinstance(value, list):
        assert len(value) == 1, value
        value = value[0]
    assert isinstance(value, int | float) and not isinstance(value, bool), value
    return float(value)


# -- the contract --------------------------------------------------------------------------------------------------


async def test_is_a_metric_provider(source: Source) -> None:
    assert isinstance(source.provider, MetricProvider)
    assert isinstance(source.down, MetricProvider)


async def test_each_backend_gets_its_own_value(source: Source) -> None:
    for backend, expected in EXPECTED.items():
        obs = await source.provider.query(source.query, backend=backend, window_s=WINDOW_S)
        assert isinstance(obs, Observation) and obs.ok, obs.error
        assert number(obs.value) == expected


async def test_fetching_changes_nothing(source: Source) -> None:
    first = await source.provider.query(source.query, backend="green", window_s=WINDOW_S)
    second = await source.provider.query(source.query, backend="green", window_s=WINDOW_S)
    assert first.ok and (second.ok, second.value) == (True, first.value)


async def test_a_backend_without_data_has_no_value(source: Source) -> None:
    obs = await source.provider.query(source.query, backend="nobody", window_s=WINDOW_S)
    assert isinstance(obs, Observation)
    assert not obs.value, obs  # an Error observation, or an empty result: never another backend's number


async def test_an_unreachable_source_is_an_error_observation(source: Source) -> None:
    obs = await source.down.query(source.query, backend="blue", window_s=WINDOW_S)
    assert isinstance(obs, Observation)
    assert not obs.ok and obs.value is None
    assert isinstance(obs.error, str) and obs.error.strip()
