"""Server-Sent Events for journeys: `async with self.http.sse("/events") as stream`.

A stream is its own connection (as in browsers). `next_event(timeout=)` returns the next event (None when none came
in time or the stream is over); `async for event in stream` iterates until the stream is over. When the server
ends the stream or the connection drops, the stream reconnects after the server's `retry:` delay, sending
`Last-Event-ID`, as EventSource does; an HTTP error status ends it for good. Metrics (tagged with the stream's
name, step and tags): sse_time_to_first_event (request sent → first event, per connection), sse_event_gap (between
events, across reconnects), sse_stream_duration (open → close), sse_events and sse_reconnects (counters).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import httptools

from greenflag.load.http.events import Event, EventParser, keep_state
from greenflag.load.http.head import Target, build_request
from greenflag.load.http.models import CookieJar
from greenflag.load.metrics.series import Registry, Series, Tags

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Event", "EventParser", "SSEStream"]

_perf = time.perf_counter
MAX_BUFFERED = 1024
MAX_RETRY_S = 30.0


def _drop_frames(exc: BaseException) -> None:
    """Let go of an exception's tracebacks (and its cause's): uvloop's connect error sits in a cycle with a frame
    of its own, and the traceback would keep every frame of it alive, the stream's among them, until a collection."""
    for each in (exc, exc.__cause__, exc.__context__):
        if each is not None:
            each.__traceback__ = None


class _Connection(asyncio.Protocol):
    """One SSE connection: an HTTP/1.1 response parsed by httptools, its body fed to the stream."""

    def __init__(self, stream: SSEStream) -> None:
        self.stream: SSEStream | None = stream
        self.parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.ended = False
        self.t_first = 0.0
        self.bytes_recv = 0
        self.series: Series | None = None  # once the stream's request is recorded: later bytes count there
        self.headers: dict[str, str] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.t_first:
            self.t_first = _perf()
        self.bytes_recv += len(data)
        if self.series is not None:
            self.series.bytes_recv += len(data)
        if self.parser is None:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._end()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()
        # Nothing calls back after this: drop the references that tie this connection, its parser, its transport
        # and the stream into a cycle, so they are freed now rather than at the next full garbage collection
        # (rare in a long run: a soak with a stream a second grew by each stream's memory until one came).
        self.parser = self.transport = self.stream = None

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if not self.opened.done() and self.parser is not None:
            self.opened.set_result(self.parser.get_status_code())

    def on_body(self, body: bytes) -> None:
        if self.stream is not None:
            self.stream._on_events(self.stream.parser.feed(body))

    def on_message_complete(self) -> None:
        self._end()

    def _end(self) -> None:
        if self.ended:
            return
        self.ended = True
        if not self.opened.done():
            self.opened.set_result(0)
        if self.transport is not None:
            self.transport.close()
        if self.stream is not None:
            self.stream._wake()

    def close(self) -> None:
        self.ended = True
        if self.transport is not None:
            self.transport.abort()  # connection_lost follows, and lets go of the rest
        else:
            self.parser = self.stream = None  # never connected: no callback will come


class SSEStream:
    """An EventSource-like stream. Use as an async context manager; see the module docstring.

    `HttpSession.sse` opens it with what it shares with the session: the run's `registry`, the VU's cookie jar,
    the request `timeout` and `want_time` (when the VU wanted to send: the iteration's schedule, or now)."""

    def __init__(
        self,
        target: Target,
        url: str,
        *,
        registry: Registry,
        cookies: CookieJar,
        timeout: float,
        want_time: Callable[[], float],
        name: str,
        headers: dict[str, str],
        tags: Tags,
        reconnect: bool = True,
        max_reconnects: int = 100,
    ) -> None:
        self.registry = registry
        self.cookies = cookies
        self.timeout = timeout
        self.want_time = want_time  # when the VU wanted to open the stream (the iteration's schedule, or now)
        self.target = target
        self.url = url
        self.name = name
        self.headers = headers
        self.tags: Tags = tuple(sorted({*tags, ("name", name)}))
        self.reconnect = reconnect
        self.max_reconnects = max_reconnects
        self.parser = EventParser()
        self.events: deque[Event] = deque(maxlen=MAX_BUFFERED)
        self.conn: _Connection | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.error: str | None = None
        self.failed = False  # an HTTP error status: EventSource does not reconnect
        self.closed = False
        self.reconnects = 0
        self.received = 0
        self.opened_at = 0.0
        self.t_sent = 0.0
        self.first_seen = False
        self.last_event_at = 0.0

    @property
    def last_event_id(self) -> str | None:
        return self.parser.last_id

    @property
    def retry_s(self) -> float:
        retry = self.parser.retry_ms
        return 1.0 if retry is None else min(retry / 1000.0, MAX_RETRY_S)

    async def __aenter__(self) -> SSEStream:
        self.opened_at = _perf()
        await self._open(self.want_time())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.conn is not None:
            self.conn.close()
        if self.opened_at:
            self.registry.add_trend("sse_stream_duration", int((_perf() - self.opened_at) * 1e6), self.tags)
        self._wake()

    def _request(self) -> bytes:
        lines = [("Accept", "text/event-stream"), ("Cache-Control", "no-cache"), *self.headers.items()]
        if self.parser.last_id:
            lines.append(("Last-Event-ID", self.parser.last_id))
        cookie = self.cookies.header(self.target.host)
        if cookie:
            lines.append(("Cookie", cookie))
        return build_request("GET", self.target, None, lines)

    async def _open(self, t_want: float) -> None:
        loop = asyncio.get_running_loop()
        self.parser = keep_state(self.parser)
        self.first_seen = False
        data = self._request()
        t0 = _perf()
        conn = self.conn = _Connection(self)
        status, error, connected = 0, None, 0.0
        try:
            async with asyncio.timeout(self.timeout):
                await loop.create_connection(lambda: conn, self.target.host, self.target.port, ssl=self.target.tls)
                connected = self.t_sent = _perf()
                assert conn.transport is not None
                conn.transport.write(data)
                status = await conn.opened
        except TimeoutError as exc:
            _drop_frames(exc)  # its frames (this one among them) would otherwise wait for the collector
            error = "timeout" if connected else "connect_timeout"
        except OSError as exc:
            _drop_frames(exc)
            error = "reset" if connected else "connect_refused"
        except asyncio.CancelledError:  # the end of the run: a request in flight is counted, interrupted
            conn.close()
            if connected:
                tags = tuple(item for item in self.tags if item[0] != "name")
                self.registry.series_for(self.name, "GET", 0, tags).record_interrupted(len(data))
            raise
        if error is not None or status == 0:
            conn.close()
            error = error or "closed"
        self._record_open(conn, data, t_want, t0, connected or _perf(), status, error)

    def _record_open(
        self, conn: _Connection, data: bytes, t_want: float, t0: float, t1: float, status: int, error: str | None
    ) -> None:
        registry = self.registry
        now = _perf()
        self.status, self.error = status, error
        request_tags = tuple(item for item in self.tags if item[0] != "name")
        series = registry.series_for(self.name, "GET", status, request_tags)
        sent = self.t_sent if self.t_sent >= t1 else t1
        series.record_http(t_want, sent, conn.t_first, now, t1 - t0, t1 - t0, 0.0, len(data), conn.bytes_recv, error)
        conn.series = series  # the events that follow count in data_received too
        if status and status != 200:
            self.failed = True
            conn.close()
        elif status == 200 and "text/event-stream" not in conn.headers.get("content-type", ""):
            self.failed = True
            self.error = "not_event_stream"
            conn.close()
        for name, value in conn.headers.items():
            if name == "set-cookie":
                self.cookies.store(self.target.host, value)

    def _on_events(self, events: list[Event]) -> None:
        if not events:
            return
        registry = self.registry
        now = _perf()
        if not self.first_seen:
            self.first_seen = True
            registry.add_trend("sse_time_to_first_event", int((now - self.t_sent) * 1e6), self.tags)
        for _ in events:
            if self.last_event_at:
                registry.add_trend("sse_event_gap", int((now - self.last_event_at) * 1e6), self.tags)
            self.last_event_at = now
        self.received += len(events)
        registry.add_counter("sse_events", float(len(events)), self.tags)
        self.events.extend(events)
        self._wake()

    def _wake(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _over(self) -> bool:
        if self.closed or self.failed:
            return True
        return not self.reconnect or self.reconnects >= self.max_reconnects

    async def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event; None when none arrives within `timeout` seconds or the stream is over."""
        deadline = None if timeout is None else _perf() + timeout
        while True:
            if self.events:
                return self.events.popleft()
            conn = self.conn
            if conn is None or conn.ended:
                if self._over():
                    return None
                if not await self._pause(self.retry_s, deadline):
                    return None
                self.reconnects += 1
                self.registry.add_counter("sse_reconnects", 1.0, self.tags)
                await self._open(_perf())
                continue
            waiter = self.waiter = asyncio.get_running_loop().create_future()
            if not await self._pause_on(waiter, deadline):
                return None

    async def _pause(self, seconds: float, deadline: float | None) -> bool:
        """Sleep `seconds` unless the deadline comes first (then sleep until it and return False)."""
        if deadline is not None and _perf() + seconds > deadline:
            await asyncio.sleep(max(0.0, deadline - _perf()))
            return False
        await asyncio.sleep(seconds)
        return not self.closed

    @staticmethod
    async def _pause_on(waiter: asyncio.Future[None], deadline: float | None) -> bool:
        if deadline is None:
            await waiter
            return True
        try:
            async with asyncio.timeout(max(0.0, deadline - _perf())):
                await waiter
        except TimeoutError:
            return False
        return True

    def __aiter__(self) -> SSEStream:
        return self

    async def __anext__(self) -> Event:
        event = await self.next_event()
        if event is None:
            raise StopAsyncIteration
        return event
