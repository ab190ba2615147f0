"""`check waf` stays inside its bounds: the request budget, the rate limit, the concurrency limit, the target host
(never a redirect's, never an address a payload names), and `--resolve`. Real aiohttp servers on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from greenflag.readiness.target import TargetOptions, parse_resolve
from greenflag.readiness.waf.check import WafOptions, check_waf
from greenflag.readiness.waf.send import SendLimits


@dataclass
class Recorder:
    hold_s: float = 0.0
    redirect_to: str | None = None
    arrivals: list[float] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)
    in_flight: int = 0
    max_in_flight: int = 0
    url: str = ""

    @web.middleware
    async def handle(self, request: web.Request, handler: object) -> web.StreamResponse:
        """Answers every request itself, before routing (which refuses paths with decoded line breaks)."""
        self.arrivals.append(time.monotonic())
        self.hosts.add(request.headers.get("Host", ""))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await request.read()
            if self.hold_s:
                await asyncio.sleep(self.hold_s)
            if self.redirect_to is not None:
                raise web.HTTPFound(self.redirect_to)
            return web.Response(text="ok")
        finally:
            self.in_flight -= 1


async def serve(recorder: Recorder) -> web.AppRunner:
    app = web.Application(middlewares=[recorder.handle])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    recorder.url = f"http://127.0.0.1:{port}"
    return runner


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    runner = await serve(rec)
    yield rec
    await runner.cleanup()


async def test_budget_rate_and_concurrency_hold(recorder: Recorder) -> None:
    rate, budget = 50.0, 30
    recorder.hold_s = 0.1  # responses take 100 ms: five at 50/s would overlap without the concurrency bound
    started = time.monotonic()
    result = await check_waf(
        recorder.url + "/search", waf=WafOptions(budget=budget, send=SendLimits(rate=rate, concurrency=2))
    )
    assert len(recorder.arrivals) == budget  # the budget counts every request, the baseline included
    assert result.evidence["requests"]["sent"] + result.evidence["requests"]["baseline"] == budget
    # request i starts no earlier than i / rate after the check began, so the k-th arrival cannot be sooner
    for k, arrival in enumerate(sorted(recorder.arrivals)):
        assert arrival >= started + k / rate
    assert recorder.max_in_flight <= 2


async def test_redirects_are_not_followed_and_no_other_host_is_contacted(recorder: Recorder) -> None:
    elsewhere = Recorder()
    runner = await serve(elsewhere)
    try:
        recorder.redirect_to = elsewhere.url + "/stolen"
        result = await check_waf(recorder.url + "/", waf=WafOptions(budget=80, send=SendLimits(rate=1000)))
        sent = result.evidence["requests"]["sent"] + result.evidence["requests"]["baseline"]
        assert len(recorder.arrivals) == sent <= 80
        # the harmless baseline got the same 302, so a 302 means "reached the service": passed, not followed
        assert result.evidence["overall"]["attacks"]["passed"] == result.evidence["overall"]["attacks"]["sent"]
        assert elsewhere.arrivals == []  # the 302 was a response to judge, not a place to go
    finally:
        await runner.cleanup()


async def test_resolve_sends_the_real_name_to_the_pinned_address(recorder: Recorder) -> None:
    port = int(recorder.url.rsplit(":", 1)[1])
    options = TargetOptions(resolve=(parse_resolve(f"shop.example.test:{port}:127.0.0.1"),))
    result = await check_waf(
        f"http://shop.example.test:{port}/", waf=WafOptions(budget=20, send=SendLimits(rate=1000)), options=options
    )
    assert recorder.hosts == {f"shop.example.test:{port}"}
    assert result.evidence["requests"]["sent"] == 20 - result.evidence["requests"]["baseline"]
