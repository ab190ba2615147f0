"""Probes and gates against real servers and processes on 127.0.0.1."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from greenflag.clock import SystemClock
from greenflag.health.probes import ExecProbe, HttpProbe, TcpProbe, make_probe
from greenflag.health.watch import wait_ready, watch
from greenflag.spec import ProbeSpec
from tests.support import free_port


class Service:
    def __init__(self) -> None:
        self.ready_after = 0
        self.hits = 0
        self.status = "ok"

    async def health(self, request: web.Request) -> web.Response:
        self.hits += 1
        if self.hits <= self.ready_after:
            return web.Response(status=503, text="starting")
        return web.json_response({"status": self.status, "version": "v1"})

    async def slow(self, request: web.Request) -> web.Response:
        import asyncio

        await asyncio.sleep(0.3)
        return web.Response(text="slow ok")


@pytest.fixture
async def service() -> AsyncIterator[tuple[Service, str]]:
    svc = Service()
    app = web.Application()
    app.router.add_get("/healthz", svc.health)
    app.router.add_get("/slow", svc.slow)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield svc, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_http_probe(service: tuple[Service, str]) -> None:
    svc, base = service
    result = await HttpProbe("/healthz", expect_status=[200], json_field="status=ok").check(base)
    assert result.ok and result.latency_s > 0 and "HTTP 200" in result.detail
    svc.status = "degraded"
    result = await HttpProbe("/healthz", json_field="status=ok").check(base)
    assert not result.ok and "degraded" in result.detail
    result = await HttpProbe("/healthz", body_contains="v2").check(base)
    assert not result.ok and "does not contain" in result.detail
    result = await HttpProbe("/missing", expect_status=[200]).check(base)
    assert not result.ok and "404" in result.detail
    result = await HttpProbe("/slow", max_latency=0.05, timeout=5).check(base)
    assert not result.ok and "over 50 ms" in result.detail
    result = await HttpProbe("/slow", timeout=0.05).check(base)
    assert not result.ok and "timed out" in result.detail


async def test_http_probe_refused_never_raises() -> None:
    result = await HttpProbe("/healthz").check(f"http://127.0.0.1:{free_port()}")
    assert not result.ok and "GET http://127.0.0.1:" in result.detail


async def test_tcp_probe(service: tuple[Service, str]) -> None:
    _, base = service
    assert (await TcpProbe().check(base.replace("http://", "tcp://"))).ok
    assert (await TcpProbe().check(base.removeprefix("http://"))).ok
    refused = await TcpProbe(timeout=2).check(f"127.0.0.1:{free_port()}")
    assert not refused.ok and "tcp 127.0.0.1:" in refused.detail


async def test_exec_probe(tmp_path: object) -> None:
    ok = await ExecProbe([sys.executable, "-c", "print('fine')"], timeout=10).check("")
    assert ok.ok and "exit 0: fine" in ok.detail
    bad = await ExecProbe([sys.executable, "-c", "import sys; print('db down'); sys.exit(3)"], timeout=10).check("")
    assert not bad.ok and "exit 3: db down" in bad.detail
    slow = await ExecProbe([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5).check("")
    assert not slow.ok and "timed out" in slow.detail
    missing = await ExecProbe(["/nonexistent/cmd"]).check("")
    assert not missing.ok and "nonexistent" in missing.detail
    target = await ExecProbe([sys.executable, "-c", "import sys; sys.exit(sys.argv[1] != 'x:1')", "{target}"],
                             timeout=10).check("x:1")  # fmt: skip
    assert target.ok


async def test_wait_ready_passes_after_the_success_threshold(service: tuple[Service, str]) -> None:
    svc, base = service
    svc.ready_after = 3
    spec = ProbeSpec(http="/healthz", interval=0.05, success_threshold=2, failure_threshold=10, timeout=2)
    gate = await wait_ready(make_probe(spec), base, spec, SystemClock(), timeout=20)
    assert gate.passing and gate.checks == 5 and svc.hits == 5


async def test_wait_ready_stops_on_failure_and_at_the_deadline() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    spec = ProbeSpec(http="/healthz", interval=0.02, failure_threshold=2, timeout=1)
    gate = await wait_ready(make_probe(spec), base, spec, SystemClock(), timeout=20, stop_on_failure=True)
    assert gate.failing and gate.checks == 2 and gate.last is not None and not gate.last.ok
    gate = await wait_ready(make_probe(spec), base, spec, SystemClock(), timeout=0.1)
    assert not gate.passing and "Failing" in gate.describe()


async def test_watch_sees_a_live_service_fail(service: tuple[Service, str]) -> None:
    svc, base = service
    spec = ProbeSpec(http="/healthz", json_field="status=ok", interval=0.02, failure_threshold=2, timeout=2)
    statuses = []
    async for gate in watch(make_probe(spec), base, spec, SystemClock()):
        statuses.append(str(gate.status))
        if gate.checks == 2:
            svc.status = "down"
        if gate.failing or gate.checks > 50:
            break
    assert statuses[:2] == ["Passing", "Passing"] and statuses[-1] == "Failing"
    assert json.dumps(statuses)
