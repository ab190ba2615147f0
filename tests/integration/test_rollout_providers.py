"""Analysis metrics from providers other than the router (here http_json against a real local server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from greenflag.rollout.model import MeasurementPhase
from greenflag.rollout.observe import collect_measurements
from greenflag.spec import Spec
from tests.support import free_port


@pytest.fixture
async def metrics_url() -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"data": {"error_rate": 0.2 if request.query.get("b") == "bad" else 0.0}})

    app = web.Application()
    app.router.add_get("/m", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/m"
    await runner.cleanup()


@pytest.mark.parametrize(
    ("version", "phase"), [("good", MeasurementPhase.SUCCESSFUL), ("bad", MeasurementPhase.FAILED)]
)
async def test_http_json_metric_is_measured_and_judged(metrics_url: str, version: str, phase: MeasurementPhase) -> None:
    metric = {
        "name": "errors",
        "provider": "http_json",
        "query": metrics_url + "?b={{backend}}",
        "json_path": "$.data.error_rate",
        "failure_condition": "result > 0.01",
    }
    spec = Spec.model_validate(
        {"service": "s", "strategy": {"canary": {"preset": "AllAtOnce"}}, "analysis": {"metrics": [metric]}}
    )
    (measurement,) = await collect_measurements(spec, None, version, 1.0)
    assert (measurement.metric, measurement.phase) == ("errors", phase), measurement.detail
    assert measurement.value == (0.2 if version == "bad" else 0.0)
