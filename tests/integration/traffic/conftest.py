"""Shared fixtures for the router's integration tests: two reference-service backends and an embedded router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from greenflag.demo.process import DemoAppProcess, run_demo_app
from greenflag.traffic.embedded.server import EmbeddedRouter
from tests.integration.traffic.support import make_router


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, DemoAppProcess]]:
    """blue = reference service v1, green = v2 (real processes on 127.0.0.1)."""
    with (
        run_demo_app("v1", ["--sse-interval-ms", "50"]) as blue,
        run_demo_app("v2", ["--sse-interval-ms", "50"]) as green,
    ):
        yield {"blue": blue, "green": green}


@pytest.fixture
async def router(backends: dict[str, DemoAppProcess]) -> AsyncIterator[EmbeddedRouter]:
    r = await make_router({n: b.url for n, b in backends.items()}, {"blue": 100, "green": 0}, drain_timeout=1.0)
    yield r
    await r.stop(grace=1.0)
