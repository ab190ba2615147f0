"""The journey HTTP session and SSE client against a real aiohttp server on 127.0.0.1: redirects, cookies, bodies,
`Connection: close`, SSE errors and retry."""

from __future__ import annotations

import gc
import json
import time
import weakref
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from greenflag.load.http.client import parse_target
from greenflag.load.http.session import HttpSession
from greenflag.load.metrics.series import Registry

pytestmark = pytest.mark.timeout(60)


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "path": request.path_qs,
            "cookie": request.headers.get("Cookie"),
            "type": request.headers.get("Content-Type"),
            "body": body.decode(),
        }
    )


async def redirect(request: web.Request) -> web.Response:
    status = int(request.match_info["status"])
    return web.Response(status=status, headers={"Location": "/echo?from=" + str(status)})


async def set_cookie(request: web.Request) -> web.Response:
    response = web.Response(text="ok")
    response.set_cookie("a", "1", path="/")
    response.set_cookie("b", "2", path="/")
    response.headers.add("Set-Cookie", "gone=x; Max-Age=0")
    return response


async def close(request: web.Request) -> web.Response:
    return web.Response(text="bye", headers={"Connection": "close"})


async def sse_error(request: web.Request) -> web.Response:
    return web.Response(status=500, text="no stream")


async def sse_once(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    last = request.headers.get("Last-Event-ID", "0")
    await response.write(f"retry: 50\n\nid: {int(last) + 1}\ndata: after {last}\n\n".encode())
    await response.write_eof()
    return response


@pytest.fixture
async def base() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_route("*", "/r/{status}", redirect)
    app.router.add_get("/cookie", set_cookie)
    app.router.add_get("/close", close)
    app.router.add_get("/sse-error", sse_error)
    app.router.add_get("/sse-once", sse_once)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def session_for(base: str) -> HttpSession:
    return HttpSession(Registry(start=time.perf_counter()), parse_target(base))


@pytest.mark.parametrize(
    ("method", "status", "final_method", "followed"),
    [
        ("GET", 302, "GET", True),
        ("POST", 303, "GET", True),
        ("POST", 302, "GET", True),
        ("GET", 307, "GET", True),
        ("POST", 307, None, False),
        ("PUT", 301, None, False),
    ],
)
async def test_redirect_rules(base: str, method: str, status: int, final_method: str | None, followed: bool) -> None:
    session = session_for(base)
    try:
        resp = await session.request(method, f"/r/{status}", data={"x": "1"}, name="start")
        if followed:
            assert resp.status == 200 and [h.status for h in resp.history] == [status]
            assert resp.json()["method"] == final_method and resp.json()["path"] == f"/echo?from={status}"
            assert resp.json()["body"] == ("x=1" if status == 307 else "")  # only 307/308 send the body again
            names = {s.name for s in session.registry.series.values()}
            assert names == {"start", "/echo"}
        else:
            assert resp.status == status and resp.history == []
        no_follow = await session.request("GET", f"/r/{status}", allow_redirects=False)
        assert no_follow.status == status
    finally:
        session.close()


async def test_cookies_bodies_and_keep_alive(base: str) -> None:
    session = session_for(base)
    try:
        await session.get("/cookie")
        resp = await session.post("/echo", json={"n": 1}, headers={"X-Trace": "1"})
        sent = resp.json()
        assert sent["cookie"] == "a=1; b=2" and sent["type"] == "application/json"
        assert json.loads(sent["body"]) == {"n": 1}
        form = (await session.put("/echo", data={"a": "x y"})).json()
        assert (form["method"], form["body"], form["type"]) == ("PUT", "a=x+y", "application/x-www-form-urlencoded")
        assert (await session.head("/echo")).status == 200
        assert (await session.patch("/echo", body=b"raw")).json()["body"] == "raw"
        assert (await session.delete("/echo")).json()["method"] == "DELETE"
        (client,) = session.clients.values()
        assert client.connects == 1  # one keep-alive connection for all of it
        assert (await session.get("/close")).text == "bye"
        assert (await session.get("/echo")).status == 200
        assert client.connects == 2
    finally:
        session.close()


async def test_network_error_is_a_status_0_response() -> None:
    session = session_for("http://127.0.0.1:9")
    resp = await session.get("/", name="down")
    assert resp.status == 0 and resp.error == "connect_refused" and resp.text == ""
    assert session.registry.errors_by_class() == {"connect_refused": 1}


async def test_sse_http_error_ends_the_stream(base: str) -> None:
    session = session_for(base)
    async with session.sse("/sse-error") as stream:
        assert await stream.next_event(timeout=1) is None
        assert stream.status == 500 and stream.failed and stream.reconnects == 0
    assert session.registry.series_for("/sse-error", "GET", 500).reqs == 1


async def test_sse_uses_the_servers_retry_and_last_event_id(base: str) -> None:
    session = session_for(base)
    async with session.sse("/sse-once", max_reconnects=2) as stream:
        events = [event async for event in stream]
    assert [(e.id, e.data) for e in events] == [("1", "after 0"), ("2", "after 1"), ("3", "after 2")]
    assert stream.reconnects == 2 and stream.retry_s == 0.05


async def test_a_finished_sse_stream_is_freed_without_the_garbage_collector(base: str) -> None:
    """A long run opens a stream after another; each must be freed when it ends (by reference counting), not
    left in a reference cycle (stream, connection, parser, transport) until a full collection, which is rare in a
    long run: a 30-minute soak grew by every stream's memory until one came. Also when the server refuses."""
    session = session_for(base)
    refused = session_for("http://127.0.0.1:9")  # nothing listens on port 9 of loopback
    gc.collect()
    gc.disable()
    try:
        refs = []
        for current, path in ((session, "/sse-once"), (session, "/sse-error"), (refused, "/")):
            async with current.sse(path, max_reconnects=1) as stream:
                _ = [event async for event in stream]
                refs.append((weakref.ref(stream), weakref.ref(stream.conn)))
            del stream
        alive = [(name, s() is not None, c() is not None) for name, (s, c) in zip("oer", refs, strict=True)]
        assert all(not s and not c for _, s, c in alive), alive
    finally:
        gc.enable()
