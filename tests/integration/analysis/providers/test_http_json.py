"""The http_json provider against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from greenflag.analysis.providers.http_json import HttpJsonProvider
from greenflag.analysis.providers.registry import create_provider
from greenflag.errors import ConfigError
from greenflag.spec import MetricSpec
from tests.support import free_port


@pytest.fixture
async def json_server() -> AsyncIterator[str]:
    async def stats(request: web.Request) -> web.Response:
        backend = request.query.get("backend", "")
        return web.json_response({"data": {"backends": [{"name": backend, "error_rate": 0.002}]}})

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_get("/broken", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_http_json(json_server: str) -> None:
    provider = HttpJsonProvider(json_server + "/stats?backend={{backend}}", "$.data.backends[0].error_rate")
    obs = await provider.query("", backend="green", window_s=10)
    assert obs.ok and obs.value == 0.002
    whole = await HttpJsonProvider(json_server + "/stats?backend=x", "data.backends[0]").query(
        "", backend="", window_s=1
    )
    assert whole.value == {"name": "x", "error_rate": 0.002}
    missing = await HttpJsonProvider(json_server + "/stats", "data.nope").query("", backend="", window_s=1)
    assert not missing.ok and "not found" in str(missing.error)
    broken = await HttpJsonProvider(json_server + "/broken").query("", backend="", window_s=1)
    assert not broken.ok and "HTTP 500" in str(broken.error)
    refused = await HttpJsonProvider(f"http://127.0.0.1:{free_port()}/x").query("", backend="", window_s=1)
    assert not refused.ok
    with pytest.raises(ConfigError, match="json_path"):
        create_provider(MetricSpec(name="m", provider="http_json", query=json_server, json_path="a..b"), where="m")
