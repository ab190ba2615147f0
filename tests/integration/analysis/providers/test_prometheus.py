"""The prometheus provider against a real Prometheus (Debian package) scraping the embedded router's /metrics."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from greenflag.analysis.providers.prometheus import PrometheusProvider
from greenflag.analysis.run import AnalysisRun
from greenflag.analysis.verdicts import Verdict
from greenflag.demo.process import DemoAppProcess, run_demo_app
from greenflag.spec import AnalysisSpec, RouterSpec
from greenflag.testing import FakeClock
from greenflag.traffic.embedded.server import EmbeddedRouter
from tests.servers import prometheus_server, scrape_job
from tests.support import free_port, wait_until_async

TOKEN = "prom-test-token"
pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs the prometheus Debian package")


@pytest.fixture(scope="module")
def app() -> Iterator[DemoAppProcess]:
    with run_demo_app("v1") as a:
        yield a


@pytest.mark.timeout(120)
async def test_prometheus_answers_the_provider(app: DemoAppProcess, tmp_path: Path) -> None:
    spec = RouterSpec(listen="127.0.0.1:0", admin="127.0.0.1:0", backends={"blue": app.url}, weights={"blue": 100})
    router = EmbeddedRouter(spec, admin_token=TOKEN)
    await router.start()
    try:
        assert router.admin_url is not None
        job = scrape_job("greenflag-test", router.admin_url.removeprefix("http://"), token=TOKEN)
        with prometheus_server(tmp_path, [job]) as address:
            async with aiohttp.ClientSession() as session:
                for _ in range(40):
                    async with session.get(router.url + "/") as response:
                        await response.read()
            provider = PrometheusProvider(address, "")
            query = 'sum(greenflag_router_requests_total{backend="{{backend}}"})'

            async def scraped() -> bool:
                obs = await provider.query(query, backend="blue", window_s=10)
                return obs.ok and obs.value and obs.value[0] >= 40

            await wait_until_async(scraped, timeout=60, interval=0.5, what="prometheus to scrape 40 requests")
            obs = await provider.query(query, backend="blue", window_s=10)
            assert obs.ok and obs.value == [40.0]
            scalar = await provider.query("scalar(vector(0.5))", backend="blue", window_s=10)
            assert scalar.value == 0.5
            empty = await provider.query('greenflag_router_requests_total{backend="none"}', backend="x", window_s=10)
            assert empty.ok and empty.value == []
            bad = await provider.query("sum(", backend="blue", window_s=10)
            assert not bad.ok and "bad_data" in str(bad.error)

            analysis = AnalysisSpec.model_validate(
                {"defaults": False, "metrics": [{"name": "served", "provider": "prometheus", "address": address,
                                                  "query": query, "count": 2, "success_condition": "result[0] >= 40"}]}
            )  # fmt: skip
            verdict = await AnalysisRun(analysis, {"served": provider}, "blue", None, FakeClock()).run(None)
            assert verdict is Verdict.SUCCESSFUL
    finally:
        await router.stop(grace=1.0)


async def test_unreachable_prometheus_is_an_error_observation() -> None:
    obs = await PrometheusProvider(f"http://127.0.0.1:{free_port()}", "up", timeout_s=2).query(
        "up", backend="b", window_s=10
    )
    assert not obs.ok and "prometheus" in str(obs.error)
