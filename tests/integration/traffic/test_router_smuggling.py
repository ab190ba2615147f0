"""The embedded router cannot be smuggled through, hung, or made to blame a backend for a client's fault.

One router in front of a strict recording backend (tests/integration/traffic/strict_backend.py) for the module:
the public smuggling corpus (tests/data/http-smuggling, 201 cases) through it, then one test per defence, each
from its own loopback address so the backend can tell whose requests it parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from greenflag.spec import RouterSpec
from greenflag.traffic.embedded.server import EmbeddedRouter
from tests.integration.traffic.smuggling_corpus import load_cases, run_corpus
from tests.integration.traffic.strict_backend import StrictBackend

pytestmark = [pytest.mark.timeout(120), pytest.mark.asyncio(loop_scope="module")]

MAX_BODY = 1 << 20


@dataclass
class Env:
    router: EmbeddedRouter
    backend: StrictBackend

    @property
    def port(self) -> int:
        return self.router.address[1]

    def seen_from(self, ip: str) -> list[bytes]:
        return [r.target for r in self.backend.requests if r.xff == ip]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env() -> AsyncIterator[Env]:
    backend = StrictBackend()
    await backend.start()
    # stable takes the traffic; canary only what names it in X-Greenflag-Route (both are the strict backend)
    spec = RouterSpec(
        listen="127.0.0.1:0", backends={"stable": backend.url, "canary": backend.url},
        weights={"stable": 100, "canary": 0}, max_body_size=MAX_BODY,
    )  # fmt: skip
    router = EmbeddedRouter(spec, admin=False)
    await router.start()
    yield Env(router, backend)
    await router.stop(grace=1.0)
    await backend.stop()


async def exchange(env: Env, ip: str, *parts: bytes, timeout: float = 5.0) -> bytes:
    """Send `parts` from `ip` (the second once the backend received something), read until close or timeout."""
    reader, writer = await asyncio.open_connection("127.0.0.1", env.port, local_addr=(ip, 0))
    loop = asyncio.get_running_loop()
    try:
        first, *rest = parts
        for part in rest:
            received = env.backend.bytes_received
            writer.write(first)
            await writer.drain()
            await until(lambda: env.backend.bytes_received > received, "the first part to reach the backend")  # noqa: B023
            first = part
        writer.write(first)
        await writer.drain()
        out = b""
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                data = await asyncio.wait_for(reader.read(65536), deadline - loop.time())
            except (TimeoutError, ConnectionError):
                break
            if not data:
                break
            out += data
        return out
    finally:
        writer.close()


async def until(condition: object, what: str, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


async def test_the_public_corpus_smuggles_nothing_and_hangs_nothing(env: Env) -> None:
    """All 201 cases: the strict backend parses no request whose answer did not reach the client that sent it,
    every case gets an answer or a close within 5 s, the valid pipelines are served, and the router never
    forwards a byte the strict backend has to refuse, nor makes a backend look failing."""
    results = await run_corpus(load_cases(), "127.0.0.1", env.port, env.backend)
    failures = [f"{o.case.id} ({o.case.expect}): {why}" for o, why in results if why is not None]
    assert failures == [], "\n".join(failures)
    assert len(results) == 201
    assert env.backend.errors == []
    for name in ("stable", "canary"):
        window = env.router.stats(300)[name]
        assert window.transport_errors == 0 and window.errors == 0, (name, window)


async def test_a_chunked_body_that_turns_malformed_is_the_clients_error_not_the_canarys(env: Env) -> None:
    """The head (and a first chunk) went to the canary; then the chunk framing breaks. The client gets 400 at
    once (no waiting for a backend timeout), the half-sent request's backend connection is closed, and the
    canary's stats show no request and no error: a client cannot make a healthy version look failing."""
    before = env.router.stats_json(300)["router"]
    head = (
        b"POST /upload HTTP/1.1\r\nHost: a\r\nX-Greenflag-Route: canary\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n"
    )
    for bad in (b"zz\r\n", b"5\nhello\r\n", b"-1\r\n", b"3\r\nabcXY"):
        answer = await exchange(env, "127.2.0.1", head, bad)
        assert status_of(answer) == 400 and answer.count(b"HTTP/1.1") == 1
        await until(lambda: not any(b"/upload" in c.buf for c in env.backend.open), "the upstream connection to close")
    after = env.router.stats_json(300)["router"]
    assert after["rejected"] - before["rejected"] == 4
    assert after["client_aborts"].get("canary", 0) - before["client_aborts"].get("canary", 0) == 4
    canary = env.router.stats(300)["canary"]
    assert canary.requests == 0 and canary.errors == 0
    assert env.seen_from("127.2.0.1") == []  # the strict backend never parsed the broken request


async def test_framing_and_host_named_in_connection_are_kept(env: Env) -> None:
    body = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
    head = b"POST /form HTTP/1.1\r\nHost: a\r\nConnection: Content-Length, Host\r\nContent-Length: %d\r\n\r\n"
    request = head % len(body) + body
    parsed = len(env.backend.requests)
    answer = await exchange(env, "127.2.0.2", request, timeout=1.0)
    assert status_of(answer) == 200 and answer.count(b"HTTP/1.1 ") == 1
    (seen,) = env.backend.requests[parsed:]  # one request, not two
    assert seen.target == b"/form" and seen.body == body
    assert (b"Host", b"a") in seen.headers and (b"Content-Length", b"%d" % len(body)) in seen.headers


REFUSALS = [
    ("underscore TE", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("underscore XFF", b"GET / HTTP/1.1\r\nHost: a\r\nX_Forwarded_For: 10.1.1.1\r\n\r\n", 400),
    ("name with a space", b"GET / HTTP/1.1\r\nHost: a\r\nX Y: 1\r\n\r\n", 400),
    ("space before the colon", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 1\r\n\r\nZ", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n", 400),
    ("bare LF", b"GET / HTTP/1.1\nHost: a\n\n", 400),
    ("no Host in 1.1", b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
    ("HTTP/0.9 form", b"GET /\r\n\r\n", 400),
    ("HTTP/2.0 over text", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ("TE in HTTP/1.0", b"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("body over the limit", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1), 413),
]  # fmt: skip


@pytest.mark.parametrize("index", range(len(REFUSALS)), ids=[r[0] for r in REFUSALS])
async def test_refused_before_any_byte_reaches_the_backend(env: Env, index: int) -> None:
    name, request_bytes, status = REFUSALS[index]
    ip = f"127.2.3.{index + 1}"
    received = env.backend.bytes_received
    answer = await exchange(env, ip, request_bytes, timeout=2.0)
    assert status_of(answer) == status, name
    assert env.backend.bytes_received == received and env.seen_from(ip) == []


async def test_http_1_0_without_host_and_other_underscore_headers_pass(env: Env) -> None:
    answer = await exchange(env, "127.2.0.4", b"GET /old HTTP/1.0\r\nX_Request_Id: 7\r\n\r\n")
    assert status_of(answer) == 200  # forwarded as HTTP/1.1 with an empty Host (RFC 9112 3.2), which is valid
    (seen,) = [r for r in env.backend.requests if r.xff == "127.2.0.4"]
    assert seen.target == b"/old" and (b"X_Request_Id", b"7") in seen.headers


async def test_a_chunked_body_over_the_limit_gets_413_and_is_not_held_against_the_backend(env: Env) -> None:
    before = env.router.stats(300)["stable"].requests
    head = b"POST /big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    block = b"%x\r\n%b\r\n" % (64 * 1024, b"x" * 64 * 1024)
    answer = await exchange(env, "127.2.0.5", head + block, block * (MAX_BODY // len(block) + 2))
    assert status_of(answer) == 413
    assert env.router.stats(300)["stable"].requests == before and env.seen_from("127.2.0.5") == []


async def test_header_size_limit_counts_bytes_received(env: Env) -> None:
    """A header line that never ends: 431 after about the limit, not 64 MB buffered until the header timeout.
    Eight such clients at once, and a normal one is served meanwhile."""

    async def endless(ip: str) -> tuple[bytes, int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", env.port, local_addr=(ip, 0))
        block, sent = b"a" * 65536, 0
        reading = asyncio.ensure_future(reader.read(4096))
        with contextlib.suppress(ConnectionError):
            writer.write(b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: ")
            while sent < 64 << 20 and not reading.done():
                writer.write(block)
                await writer.drain()
                await asyncio.sleep(0)  # let the answer in, if there is one
                sent += len(block)
        answer = await asyncio.wait_for(reading, 5)
        writer.close()
        return answer, sent

    results = await asyncio.gather(*(endless(f"127.2.1.{i}") for i in range(1, 9)))
    normal = await exchange(env, "127.2.0.6", b"GET /normal HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    for answer, sent in results:
        assert status_of(answer) == 431
        assert sent < 64 << 20  # cut off long before the whole header was sent
    assert status_of(normal) == 200


async def test_a_connection_that_never_sends_a_byte_is_closed_after_the_header_timeout(env: Env) -> None:
    """Not held for the 75 s keep-alive idle time: closed without a word after the header timeout from accept."""
    core = env.router.core
    saved = core.header_timeout
    core.header_timeout = 0.5
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", env.port, local_addr=("127.2.0.7", 0))
        assert await asyncio.wait_for(reader.read(100), 5) == b""
        writer.close()
        # a request whose head starts at once but never ends is timed from accept too: 408
        answer = await exchange(env, "127.2.0.7", b"GET / HTTP/1.1\r\nHost: a\r\n")
        assert status_of(answer) == 408
    finally:
        core.header_timeout = saved


async def test_trailers_never_reach_the_forwarded_head(env: Env) -> None:
    """A pipelined chunked request waits in the queue while its trailers are parsed: they must not be written
    into its head (a trailer `Host` would give the request a second Host)."""
    request = (
        b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n"
        b"POST /second HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nZ\r\n0\r\n"
        b"Host: b\r\nX-Trailer: 1\r\n\r\n"
    )
    answer = await exchange(env, "127.2.0.8", request, timeout=1.0)
    assert answer.count(b"HTTP/1.1 200 ") == 2
    second = [r for r in env.backend.requests if r.xff == "127.2.0.8" and r.target == b"/second"]
    assert len(second) == 1 and second[0].body == b"Z"
    assert [v for n, v in second[0].headers if n.lower() in (b"host", b"x-trailer")] == [b"a"]
    assert second[0].trailers == []  # dropped


async def test_pipelined_requests_before_a_refused_one_are_all_answered_then_the_refusal(env: Env) -> None:
    request = (
        b"GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\n\r\n"
        b"GET /p3 HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n"
    )
    answer = await exchange(env, "127.2.0.9", request)
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answer) == [b"200", b"200", b"400"]
    assert env.seen_from("127.2.0.9") == [b"/p1", b"/p2"]
    assert env.router.stats_json(300)["router"]["dropped"] == 0


async def test_nothing_after_connection_close_is_read(env: Env) -> None:
    request = b"GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n"
    answer = await exchange(env, "127.2.0.10", request)
    assert answer.count(b"HTTP/1.1 ") == 1 and status_of(answer) == 200
    assert env.seen_from("127.2.0.10") == [b"/last"]
    assert env.router.stats_json(300)["router"]["dropped"] == 0
