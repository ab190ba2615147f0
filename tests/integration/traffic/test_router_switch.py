"""Switching traffic: SSE streams drain then reconnect to the new backend; 100 weight flips under load lose nothing."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import pytest

from greenflag.demo.process import DemoAppProcess
from greenflag.traffic.embedded.driver import EmbeddedRouterClient
from greenflag.traffic.embedded.server import EmbeddedRouter
from tests.support import free_port, greenflag_cmd, http_get, start_process, wait_until_async

pytestmark = pytest.mark.timeout(150)


async def next_event(stream: aiohttp.StreamReader) -> dict[str, object] | None:
    """The data of the next SSE event, or None at the clean end of the stream."""
    while True:
        line = await asyncio.wait_for(stream.readline(), 10)
        if not line:
            return None
        if line.startswith(b"data: "):
            data: dict[str, object] = json.loads(line[6:])
            return data


async def test_sse_stream_survives_switch_until_drained_then_reconnects_to_new(router: EmbeddedRouter) -> None:
    async with aiohttp.ClientSession() as session, session.get(router.url + "/events") as resp:
        assert resp.status == 200 and resp.headers["X-Greenflag-Version"] == "v1"
        first = await next_event(resp.content)
        assert first is not None and first["version"] == "v1"
        router.set_weights({"blue": 0, "green": 100})
        for _ in range(5):  # the open stream keeps flowing from the old backend
            event = await next_event(resp.content)
            assert event is not None and event["version"] == "v1"
        assert router.backend_states()["blue"].state == "draining"
        # drain_timeout (1 s) ends the stream cleanly: a proper end of the chunked body, not a reset
        while (event := await next_event(resp.content)) is not None:
            assert event["version"] == "v1"
        last_id = event
    assert last_id is None
    await wait_until_async(
        lambda: _is(router.backend_states()["blue"].state, "drained"), timeout=10, what="blue drained"
    )
    async with aiohttp.ClientSession() as session, session.get(router.url + "/events") as resp:
        again = await next_event(resp.content)
        assert again is not None and again["version"] == "v2"


async def _is(a: object, b: object) -> bool:
    return a == b


async def test_hundred_weight_flips_under_load_fail_nothing(
    backends: dict[str, DemoAppProcess], tmp_path: Path
) -> None:
    listen, admin = free_port(), free_port()
    token_file = tmp_path / "token"
    token_file.write_text("flip-token\n")
    cmd = greenflag_cmd(
        "router", "serve", "--listen", f"127.0.0.1:{listen}", "--admin", f"127.0.0.1:{admin}",
        "--admin-token-file", str(token_file), "--backend", f"blue={backends['blue'].url}",
        "--backend", f"green={backends['green'].url}", "--weight", "blue=100", "--weight", "green=0",
    )  # fmt: skip
    health = f"http://127.0.0.1:{admin}/healthz"
    summary = tmp_path / "summary.json"
    with start_process(cmd, ready=lambda: http_get(health, headers={"Authorization": "Bearer flip-token"})[0] == 200):
        load = await asyncio.create_subprocess_exec(
            *greenflag_cmd("load", "run", f"http://127.0.0.1:{listen}/version", "--rate", "600", "--duration",
                           "10s", "--summary-json", str(summary), "--quiet"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        client = EmbeddedRouterClient(f"http://127.0.0.1:{admin}", "flip-token")
        try:

            async def load_arrived() -> bool:
                return sum(w.requests for w in (await client.stats(10)).values()) >= 200

            await wait_until_async(load_arrived, timeout=30, what="the load to reach the router before flipping")
            for i in range(100):
                await client.apply({"blue": 100, "green": 0} if i % 2 else {"blue": 0, "green": 100})
                await asyncio.sleep(0.08)
            out, _ = await asyncio.wait_for(load.communicate(), 60)
            assert load.returncode == 0, out.decode(errors="replace")[-2000:]
            stats = await client.stats(120)
            counters = (await client.stats_json(120))["router"]
        finally:
            await client.aclose()
    result = json.loads(summary.read_text())
    metrics = result["metrics"]
    report = out.decode(errors="replace")[-1500:] + f"\nrouter counters: {counters}"
    assert metrics["http_req_failed"]["rate"] == 0, report
    assert metrics["http_reqs"]["count"] >= 5000
    # the router's numbers equal what the client saw
    assert sum(w.requests for w in stats.values()) == metrics["http_reqs"]["count"]
    assert stats["blue"].requests > 1000 and stats["green"].requests > 1000
    assert all(w.errors == 0 for w in stats.values())
    print(json.dumps(metrics["http_reqs"]), file=sys.stderr)


async def test_removed_backend_drains_its_stream_then_is_forgotten(
    router: EmbeddedRouter, backends: dict[str, DemoAppProcess]
) -> None:
    async with aiohttp.ClientSession() as session, session.get(router.url + "/events") as resp:
        assert (await next_event(resp.content) or {}).get("version") == "v1"
        router.set_backends({"green": backends["green"].url})
        router.set_weights({"green": 100})
        assert set(router.backend_states()) == {"green"}
        event = await next_event(resp.content)
        assert event is not None and event["version"] == "v1"  # still flowing from the removed backend
        while await next_event(resp.content) is not None:  # drain_timeout (1 s) ends it cleanly
            pass
    await wait_until_async(lambda: _gone(router, "blue"), timeout=10, what="blue forgotten")
    async with aiohttp.ClientSession() as session, session.get(router.url + "/version") as resp:
        assert resp.headers["X-Greenflag-Version"] == "v2"


async def _gone(router: EmbeddedRouter, name: str) -> bool:
    return name not in router.core.backends
