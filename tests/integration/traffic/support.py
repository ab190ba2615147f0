"""Helpers for the router's integration tests: start an embedded router, read a response's version (one, or the
versions of n requests), send raw bytes."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp

from greenflag.spec import RouterSpec
from greenflag.traffic.embedded.server import EmbeddedRouter

__all__ = ["TOKEN", "make_router", "raw_request", "version_of", "versions"]

TOKEN = "test-token"


async def make_router(backend_urls: dict[str, str], weights: dict[str, int], **spec: Any) -> EmbeddedRouter:
    router = EmbeddedRouter(
        RouterSpec(listen="127.0.0.1:0", admin="127.0.0.1:0", backends=backend_urls, weights=weights, **spec),
        admin_token=TOKEN,
    )
    await router.start()
    return router


async def version_of(session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None) -> str:
    async with session.get(url, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        await resp.read()
        return resp.headers["X-Greenflag-Version"]


async def versions(url: str, n: int, headers: dict[str, str] | None = None, path: str = "/version") -> Counter[str]:
    """n requests one after the other: how many each version answered (by its header; else by status code)."""
    out: Counter[str] = Counter()
    async with aiohttp.ClientSession() as session:
        for _ in range(n):
            async with session.get(url + path, headers=headers) as resp:
                await resp.read()
                out[resp.headers.get("X-Greenflag-Version", str(resp.status))] += 1
    return out


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
