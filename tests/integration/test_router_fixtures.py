"""Shared fixtures for the router's integration tests: two reference-service backends and an embedded router."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from greenflag.demo.process import DemoAppProcess, run_demo_app
from greenflag.spec import RouterSpec
from greenflag.traffic.embedded.server import EmbeddedRouter

__all__ = ["TOKEN", "backends", "make_router", "raw_request", "router", "version_of"]

TOKEN = "test-token"


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, DemoAppProcess]]:
    """blue = reference service v1, green = v2 (real processes on 127.0.0.1)."""
    with (
        run_demo_app("v1", ["--sse-interval-ms", "50"]) as blue,
        run_demo_app("v2", ["--sse-interval-ms", "50"]) as green,
    ):
        yield {"blue": blue, "green": green}


async def make_router(backend_urls: dict[str, str], weights: dict[str, int], **spec: Any) -> EmbeddedRouter:
    router = EmbeddedRouter(
        RouterSpec(listen="127.0.0.1:0", admin="127.0.0.1:0", backends=backend_urls, weights=weights, **spec),
        admin_token=TOKEN,
    )
    await router.start()
    return router


@pytest.fixture
async def router(backends: dict[str, DemoAppProcess]) -> AsyncIterator[EmbeddedRouter]:
    r = await make_router({n: b.url for n, b in backends.items()}, {"blue": 100, "green": 0}, drain_timeout=1.0)
    yield r
    await r.stop(grace=1.0)


async def version_of(session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None) -> str:
    async with session.get(url, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        await resp.read()
        return resp.headers["X-Greenflag-Version"]


async def raw_request(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes, return everything the router answers until it closes (or the timeout)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        out = b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), deadline - loop.time())
            except TimeoutError:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        writer.close()
