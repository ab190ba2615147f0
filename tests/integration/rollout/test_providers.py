"""Analysis metrics from providers other than the router (here http_json against a real local server), measured
by the controller's AnalysisRunner (greenflag.analysis) and judged into the journaled run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from greenflag.analysis.verdicts import Verdict
from greenflag.clock import SystemClock
from greenflag.rollout.model import Observations
from greenflag.rollout.observe import AnalysisRunner
from greenflag.rollout.steps import decide, new_status
from greenflag.spec import Spec
from greenflag.testing import FakeRouter
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


@pytest.mark.parametrize(("version", "verdict"), [("good", Verdict.SUCCESSFUL), ("bad", Verdict.FAILED)])
async def test_http_json_metric_is_measured_and_judged(metrics_url: str, version: str, verdict: Verdict) -> None:
    metric = {
        "name": "errors",
        "provider": "http_json",
        "query": metrics_url + "?b={{backend}}",
        "json_path": "$.data.error_rate",
        "failure_condition": "result > 0.01",
    }
    spec = Spec.model_validate(
        {
            "service": "s",
            "platform": {"command": "app --port {port}"},
            "strategy": {"canary": {"steps": [{"analysis": {"duration": "10s"}}]}},
            "analysis": {"metrics": [metric], "defaults": False},
        }
    )
    clock = SystemClock()
    status = new_status(spec, 1, version, "stable", clock.now().timestamp())
    status.stage = "step:0"
    status, _ = decide(spec, status, Observations(launched=frozenset({version, "stable"})), clock.now().timestamp())
    runner = AnalysisRunner(spec, FakeRouter(), clock, lambda: {version: 1, "stable": 1})
    run, (measurement,) = await runner.measure(status)
    assert (run, measurement.metric, measurement.verdict) == ("step:0", "errors", verdict), measurement.message
    assert measurement.value == (0.2 if version == "bad" else 0.0)
    obs = Observations(launched=frozenset({version, "stable"}), measurements=(measurement,), analysis_run=run)
    status, _ = decide(spec, status, obs, clock.now().timestamp())
    assert status.aborted is (version == "bad")
    if status.aborted:
        rollback = next(e for e in status.events if e.kind == "rollback")
        assert (rollback.trigger, rollback.value) == ("errors", 0.2) and "result > 0.01" in (rollback.limit or "")
