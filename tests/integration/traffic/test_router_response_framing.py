"""Backend responses: the router never strips a response's framing, and refuses (502) framing it cannot pass on
unambiguously, so the client connection is never left out of step with the responses on it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from greenflag.spec import RouterSpec
from greenflag.traffic.embedded.server import EmbeddedRouter

pytestmark = [pytest.mark.timeout(60), pytest.mark.asyncio(loop_scope="module")]

RESPONSES = {
    b"/conn-names-cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, Content-Length\r\n\r\nhello",
    b"/plain": b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext",
    b"/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: Transfer-Encoding\r\n\r\n"
    b"2\r\nok\r\n0\r\n\r\n",
    b"/te-gzip-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"/te-chunked-twice": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\n\r\n",
    b"/cl-underscore": b"HTTP/1.1 200 OK\r\nContent_Length: 3\r\nContent-Length: 5\r\n\r\nhello",
    b"/cl-and-te": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
}  # fmt: skip


class ScriptedBackend:
    """Answers each request (no bodies) with the raw bytes RESPONSES gives for its path; notes which connection
    served which paths, and which connections the router closed."""

    def __init__(self) -> None:
        self.served: dict[int, list[bytes]] = {}
        self.closed: set[int] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = len(self.served)
        self.served[number] = []
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                self.served[number].append(path)
                writer.write(RESPONSES[path])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed.add(number)
            writer.close()

    def connection_of(self, path: bytes) -> int:
        (number,) = [n for n, paths in self.served.items() if path in paths]
        return number


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def setup() -> AsyncIterator[tuple[EmbeddedRouter, ScriptedBackend]]:
    backend = ScriptedBackend()
    server = await asyncio.start_server(backend.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    router = EmbeddedRouter(RouterSpec(listen="127.0.0.1:0", backends={"app": f"http://127.0.0.1:{port}"}), admin=False)
    await router.start()
    yield router, backend
    await router.stop(grace=1.0)
    server.close()


async def pipeline(router: EmbeddedRouter, *paths: bytes) -> bytes:
    """GET each path on one connection, the last with `Connection: close`; everything until the router closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", router.address[1])
    heads = [b"GET %b HTTP/1.1\r\nHost: a\r\n" % p for p in paths]
    writer.write(b"\r\n".join(heads) + b"Connection: close\r\n\r\n")
    try:
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


async def test_content_length_named_in_connection_is_kept_and_the_connection_stays_in_step(
    setup: tuple[EmbeddedRouter, ScriptedBackend],
) -> None:
    router, _ = setup
    answer = await pipeline(router, b"/conn-names-cl", b"/plain", b"/chunked", b"/plain")
    first, rest = answer.split(b"\r\n\r\n", 1)
    assert b"\r\nContent-Length: 5" in first and b"Connection" not in first
    assert rest.startswith(b"hello" + b"HTTP/1.1 200 OK\r\n")  # the body ends where its framing says
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answer) == [b"200"] * 4 and answer.endswith(b"next")
    assert b"2\r\nok\r\n0\r\n\r\n" in answer  # chunked stays chunked even when Connection names it


@pytest.mark.parametrize("path", [b"/te-gzip-chunked", b"/te-chunked-twice", b"/cl-underscore", b"/cl-and-te"])
async def test_ambiguous_response_framing_is_a_502_and_the_backend_connection_is_not_reused(
    setup: tuple[EmbeddedRouter, ScriptedBackend], path: bytes
) -> None:
    router, backend = setup
    errors = router.stats(300)["app"].transport_errors
    answer = await pipeline(router, path)
    assert answer.startswith(b"HTTP/1.1 502 ") and answer.count(b"HTTP/1.1") == 1, answer
    assert router.stats(300)["app"].transport_errors == errors + 1  # the backend's fault, counted as its error
    number = backend.connection_of(path)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while number not in backend.closed:  # the router closed that backend connection: it is never reused
        assert loop.time() < deadline, "the backend connection that sent the bad framing stayed open"
        await asyncio.sleep(0.01)
    assert backend.served[number][-1] == path
