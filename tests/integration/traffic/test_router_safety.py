"""Safety of the embedded router on the wire: no open proxy, no smuggling, limits, slow clients, fuzzing, streaming."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenflag.traffic.embedded.server import EmbeddedRouter
from tests.integration.traffic.support import make_router, raw_request

pytestmark = pytest.mark.timeout(180)


async def _echo(request: web.Request) -> web.StreamResponse:
    """Streams the request body back, chunk by chunk, with its length at the end."""
    response = web.StreamResponse(headers={"X-Seen-Host": request.headers.get("X-Forwarded-Host", "")})
    response.headers["X-Seen-For"] = request.headers.get("X-Forwarded-For", "")
    response.headers["X-Seen-Connection"] = request.headers.get("Connection", "")
    response.headers["X-Path"] = request.path
    await response.prepare(request)
    total = 0
    async for data in request.content.iter_any():
        total += len(data)
        await response.write(data)
    await response.write(f"|{total}".encode())
    await response.write_eof()
    return response


@pytest.fixture
async def echo_router() -> AsyncIterator[EmbeddedRouter]:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", _echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    router = await make_router({"echo": f"http://127.0.0.1:{port}"}, {"echo": 1}, header_timeout=1.0)
    yield router
    await router.stop(grace=1.0)
    await runner.cleanup()


async def _healthy(router: EmbeddedRouter) -> None:
    async with aiohttp.ClientSession() as session, session.get(router.url + "/ok") as resp:
        assert resp.status == 200
        assert (await resp.read()).endswith(b"|0")


BAD_REQUESTS = {
    "absolute-form (open proxy)": b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "CONNECT": b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "CL + TE": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "repeated CL": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "same CL twice": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab",
    "invalid CL": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "TE not chunked": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    "TE obfuscated": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "two Hosts": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "websocket upgrade": b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    "too many headers": b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n",
    "huge header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n",
    "huge URL": b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "garbage": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
async def test_refused_with_4xx_and_closed(echo_router: EmbeddedRouter, name: str) -> None:
    answer = await raw_request(echo_router.address[1], BAD_REQUESTS[name])
    status = int(answer.split(b" ", 2)[1])
    assert status in (400, 414, 431), answer[:200]
    assert answer.count(b"HTTP/1.1 ") == 1  # nothing reached (or came back from) the backend
    assert echo_router.stats(60)["echo"].requests == 0
    await _healthy(echo_router)


async def test_slow_client_headers_time_out(echo_router: EmbeddedRouter) -> None:
    answer = await raw_request(echo_router.address[1], b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow:", timeout=15)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    await _healthy(echo_router)


async def test_hop_by_hop_removed_and_forwarded_headers_set(echo_router: EmbeddedRouter) -> None:
    request = (
        b"GET /h HTTP/1.1\r\nHost: shop.example\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\n"
        b"Keep-Alive: timeout=5\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n"
    )
    answer = await raw_request(echo_router.address[1], request)
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    assert "X-Seen-Host: shop.example" in head
    assert "X-Seen-For: 10.0.0.1, 127.0.0.1" in head
    assert "X-Seen-Connection: \r\n" in head or "X-Seen-Connection: keep-alive" in head
    assert "Connection: close" in head  # the client asked to close; the router honours it


async def test_bodies_stream_both_ways_chunked_and_sized(echo_router: EmbeddedRouter) -> None:
    block = bytes(range(256)) * 256  # 64 KiB

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):  # 4 MiB, sent chunked
            yield block

    async with aiohttp.ClientSession() as session:
        async with session.post(echo_router.url + "/up", data=chunks()) as resp:
            assert resp.status == 200 and resp.headers["Transfer-Encoding"] == "chunked"
            body = await resp.read()
        assert body == block * 64 + b"|%d" % (len(block) * 64)
        async with session.put(echo_router.url + "/sized", data=block * 8) as resp:
            assert (await resp.read()).endswith(b"|%d" % (len(block) * 8))
        async with session.head(echo_router.url + "/head") as resp:
            assert resp.status == 200
        await _healthy(echo_router)  # the connection after HEAD is still in step


async def test_pipelined_requests_answered_in_order(echo_router: EmbeddedRouter) -> None:
    request = b"".join(b"POST /%d HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n%d" % (i, i) for i in range(5))
    answer = await raw_request(
        echo_router.address[1], request + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert answer.count(b"HTTP/1.1 200 ") == 6
    positions = [answer.index(b"X-Path: /%d\r\n" % i) for i in range(5)]
    assert positions == sorted(positions)


MALFORMED = st.one_of(
    st.binary(min_size=1, max_size=300),
    st.builds(
        lambda method, target, headers, tail: method + b" " + target + b" HTTP/1.1\r\n" + headers + b"\r\n" + tail,
        st.sampled_from([b"GET", b"POST", b"PUT", b"G\x00T", b"", b"CONNECT", b"OPTIONS"]),
        st.one_of(st.sampled_from([b"/", b"*", b"http://x/", b"//x", b"/%00"]), st.binary(max_size=40)),
        st.lists(
            st.sampled_from([
                b"Host: x\r\n", b"Content-Length: 5\r\n", b"Content-Length: 99999999999999999999\r\n",
                b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: xchunked\r\n", b"X: \x00\r\n",
                b"Bad Header\r\n", b" folded\r\n", b"Connection: close\r\n", b"Expect: 100-continue\r\n",
            ]),
            max_size=6,
        ).map(b"".join),
        st.sampled_from([b"", b"hello", b"5\r\nhello\r\n0\r\n\r\n", b"zz\r\n", b"0\r\n\r\nGET / HTTP/1.1\r\n\r\n"]),
    ),
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=MALFORMED)
async def test_fuzz_malformed_requests_never_break_the_router(echo_router: EmbeddedRouter, data: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", echo_router.address[1])
    writer.write(data)
    writer.write_eof()
    try:
        await asyncio.wait_for(reader.read(1 << 20), 3)
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()
    await _healthy(echo_router)


async def _read_whole_body(request: web.Request) -> web.Response:
    return web.Response(text=f"got {len(await request.read())} bytes")


async def test_stalled_request_body_times_out_and_the_backend_connection_is_not_reused() -> None:
    """A client that stops sending its body halfway gets 408 after the body timeout, and its half-sent request is
    not held against the backend (no response counted); the next request goes through on a fresh connection."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _read_whole_body)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    router = await make_router({"app": f"http://127.0.0.1:{runner.addresses[0][1]}"}, {"app": 1})
    try:
        router.core.body_timeout = 1.0
        stalled = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"
        answer = await raw_request(router.address[1], stalled, timeout=15)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert router.stats(60)["app"].requests == 0
        assert router.stats_json(60)["router"]["client_aborts"] == {"app": 1}
        answer = await raw_request(
            router.address[1], b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
        )
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"got 3 bytes"), answer
        # a slow body that keeps coming is not cut off: each gap is under the timeout
        reader, writer = await asyncio.open_connection("127.0.0.1", router.address[1])
        writer.write(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\n")
        for part in (b"a", b"b", b"c", b"d"):  # 2.4 s in all, longer than the 1 s timeout, no gap over 0.6 s
            with pytest.raises(TimeoutError):  # the router says nothing while the body is still coming
                await asyncio.wait_for(reader.read(1), 0.6)
            writer.write(part)
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"got 4 bytes"), answer
    finally:
        await router.stop(grace=1.0)
        await runner.cleanup()
