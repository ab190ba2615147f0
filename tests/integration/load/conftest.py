"""The counting server the load tests share: one per module, its counts reset around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.load.counting_server import CountingServer, counting_server


@pytest.fixture(scope="module")
def module_server() -> Iterator[CountingServer]:
    with counting_server() as server:
        yield server


@pytest.fixture
def server(module_server: CountingServer) -> Iterator[CountingServer]:
    module_server.reset()
    yield module_server
    module_server.reset()
