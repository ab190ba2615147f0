"""The client side of the proxy: one asyncio Protocol per client connection, httptools request parser.

Requests are parsed into `Exchange`s queued in arrival order (pipelining); the head of the queue is the one
being answered. Bodies stream both ways: request body chunks go straight to the bound upstream connection
(buffered only until it is bound, with reading paused past a limit), response chunks straight to the client.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING, cast

import httptools

from greenflag.traffic.embedded.http1 import (
    BadRequest,
    RequestFacts,
    check_request,
    chunk,
    error_response,
    response_head,
)

if TYPE_CHECKING:
    from greenflag.traffic.embedded.protocols import ClientSide, CoreForClient
    from greenflag.traffic.embedded.upstream import Backend, UpstreamConnection

__all__ = ["ClientConnection", "Exchange"]

_PENDING_LIMIT = 256 * 1024
_PIPELINE, _UPSTREAM_FULL, _PENDING_FULL = 1, 2, 4


class Exchange:
    """One request and its response through the proxy."""

    __slots__ = (
        "aborted", "backend", "chunked_out", "client", "close_after", "done", "facts", "head_sent", "headers",
        "http11", "keep_alive", "method", "pending", "pending_bytes", "req_done", "retried", "reused", "started",
        "status", "upstream", "url",
    )  # fmt: skip

    def __init__(
        self, client: ClientSide, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]],
        facts: RequestFacts, keep_alive: bool, http11: bool,
    ) -> None:  # fmt: skip
        self.client = client
        self.method = method
        self.url = url
        self.headers = headers
        self.facts = facts
        self.keep_alive = keep_alive
        self.http11 = http11
        self.started = time.monotonic()
        self.backend: Backend | None = None
        self.upstream: UpstreamConnection | None = None
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.req_done = False
        self.head_sent = False
        self.chunked_out = False
        self.close_after = not keep_alive
        self.status = 0
        self.done = False
        self.aborted = False
        self.retried = False
        self.reused = False

    @property
    def has_body(self) -> bool:
        return self.facts.chunked or bool(self.facts.content_length)

    def send_body(self, data: bytes) -> None:
        if self.done:
            return
        if self.upstream is not None:
            self.upstream.write(data)
            return
        self.pending.append(data)
        self.pending_bytes += len(data)
        if self.pending_bytes > _PENDING_LIMIT:
            self.client.pause_reading_for(_PENDING_FULL)


class ClientConnection(asyncio.Protocol):
    def __init__(self, core: CoreForClient) -> None:
        self.core = core
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[Exchange] = deque()
        self.cur: Exchange | None = None
        self.client_ip = b"127.0.0.1"
        self.write_paused = False
        self.paused = 0
        self.closing = False
        self.deadline = 0.0  # loop time after which `_timeout` runs (0: none); ProxyCore.sweep checks it
        self.idle = True
        self.out: list[bytes] | None = None  # corked writes, sent in one syscall by uncork()
        self._new_message()

    def _new_message(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.header_bytes = 0

    # -- asyncio.Protocol -------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        peer = transport.get_extra_info("peername")
        if peer:
            self.client_ip = str(peer[0]).encode()
        self.core.connections.add(self)
        # Clients (browsers, load generators) open connections ahead of use: the header timeout starts with the
        # first byte of a request; until then the connection is idle.
        self._arm(self.core.idle_timeout, idle=True)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if self.idle and self.deadline and not self.queue:
            self._arm(self.core.header_timeout, idle=False)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as err:
            cause = err.__context__
            if isinstance(cause, BadRequest):
                self.reject(cause.status, str(cause))
            else:
                self.core.log_error("router: internal error in a request callback", cause)
                self.reject(400, "bad request")
        except httptools.HttpParserError as err:
            self.reject(400, f"malformed request: {err}")

    def connection_lost(self, exc: Exception | None) -> None:
        by_router = self.closing  # the router closed it (should never happen with requests still queued)
        self.closing = True
        self._disarm()
        self.core.connections.discard(self)
        while self.queue:
            ex = self.queue.popleft()
            if not ex.done:
                ex.aborted = True
                self.core.client_gone(ex, by_router=by_router)

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.queue and self.queue[0].upstream is not None:
            up = self.queue[0].upstream.transport
            if up is not None:
                up.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.queue and self.queue[0].upstream is not None:
            up = self.queue[0].upstream.transport
            if up is not None:
                up.resume_reading()

    # -- flow control and timers ------------------------------------------------------------------------
    def pause_reading_for(self, reason: int) -> None:
        if not self.paused and self.transport is not None and not self.closing:
            self.transport.pause_reading()
        self.paused |= reason

    def resume_reading_for(self, reason: int) -> None:
        was = self.paused
        self.paused &= ~reason
        if was and not self.paused and self.transport is not None and not self.closing:
            self.transport.resume_reading()

    def _arm(self, delay: float, *, idle: bool) -> None:
        self.idle = idle
        self.deadline = self.core.loop.time() + delay

    def _disarm(self) -> None:
        self.deadline = 0.0

    def timeout(self) -> None:
        """The deadline passed: close an idle keep-alive connection, or answer 408 to a slow request (its headers,
        or a gap in its body longer than the body timeout)."""
        self.deadline = 0.0
        if self.transport is None:
            return
        ex = self.cur
        if ex is not None and ex.has_body and not ex.req_done and not ex.done:
            if self.queue and self.queue[0] is not ex:  # earlier pipelined requests are still being answered
                self._arm(self.core.body_timeout, idle=False)
                return
            self.core.client_gone(ex)  # the client gave up on its own request: not held against the backend
            if self.queue and self.queue[0] is ex:
                self.queue.popleft()
            self.core.rejected += 1
            self.closing = True
            if not ex.head_sent:
                self.transport.write(error_response(408, "request body not received in time"))
            self.transport.close()
            return
        if self.queue:
            return
        if self.idle:
            self.close()
        else:
            self.reject(408, "request headers not received in time")

    def close(self) -> None:
        self.closing = True
        self.uncork()
        if self.transport is not None:
            self.transport.close()

    def cork(self) -> None:
        """Collect writes until uncork(): a whole small response leaves in one write."""
        if self.out is None:
            self.out = []

    def uncork(self) -> None:
        out = self.out
        self.out = None
        if out and self.transport is not None:
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    def _write(self, data: bytes) -> None:
        if self.out is not None:
            self.out.append(data)
        elif self.transport is not None:
            self.transport.write(data)

    def reject(self, status: int, message: str) -> None:
        """Answer with an error once earlier requests are answered, then close."""
        self.core.rejected += 1
        if self.transport is None or self.closing:
            return
        self.closing = True
        self._disarm()
        if self.queue:  # let the requests before it finish; nothing more is read
            self.queue[-1].close_after = True
            self.transport.pause_reading()
            return
        self.transport.write(error_response(status, message))
        self.transport.close()

    # -- httptools request callbacks --------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._new_message()

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.header_bytes += len(url)
        if len(self.url) > self.core.limits.max_url_bytes:
            raise BadRequest(414, "request target too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        self.header_bytes += len(name) + len(value) + 4
        limits = self.core.limits
        if len(self.headers) > limits.max_headers or self.header_bytes > limits.max_header_bytes:
            raise BadRequest(431, "too many or too large request headers")

    def on_headers_complete(self) -> None:
        parser = self.parser
        method = parser.get_method()
        facts = check_request(method, self.url, self.headers, self.core.route_header)
        ex = Exchange(
            self, method, self.url, self.headers, facts, parser.should_keep_alive(), parser.get_http_version() == "1.1"
        )
        self.cur = ex
        if facts.chunked or facts.content_length:  # the body must keep coming: no gap over body_timeout
            self._arm(self.core.body_timeout, idle=False)
        else:
            self._disarm()
        self.queue.append(ex)
        if len(self.queue) == 1:
            self.core.dispatch(ex)
        elif len(self.queue) > self.core.limits.max_pipelined:
            self.pause_reading_for(_PIPELINE)

    def on_body(self, body: bytes) -> None:
        ex = self.cur
        if ex is not None:
            if not self.idle:
                self.deadline = self.core.loop.time() + self.core.body_timeout
            ex.send_body(chunk(body) if ex.facts.chunked else body)

    def on_message_complete(self) -> None:
        ex = self.cur
        if ex is None:
            return
        if ex.facts.chunked:
            ex.send_body(b"0\r\n\r\n")
        ex.req_done = True
        self.cur = None
        if ex.has_body and not self.idle:
            self._disarm()

    # -- called by the upstream side --------------------------------------------------------------------
    def informational(self, ex: Exchange, status: int, reason: bytes) -> None:
        if ex.http11 and self.transport is not None and not ex.head_sent:
            self._write(b"HTTP/1.1 %d %b\r\n\r\n" % (status, reason))

    def response_head(
        self, ex: Exchange, status: int, reason: bytes, headers: list[tuple[bytes, bytes]], unframed: bool
    ) -> None:
        ex.status = status
        ex.head_sent = True
        if unframed:  # no Content-Length from the backend (chunked or close-delimited): re-frame for the client
            ex.chunked_out = ex.http11
            ex.close_after = ex.close_after or not ex.http11
        extra = self.core.sticky_cookie(ex)
        if self.transport is not None:
            head = response_head(
                status, reason, headers, chunked_out=ex.chunked_out, close=ex.close_after or self.closing, extra=extra
            )
            self._write(head)

    def response_body(self, ex: Exchange, body: bytes) -> None:
        if self.transport is not None and body:
            self._write(chunk(body) if ex.chunked_out else body)

    def response_done(self, ex: Exchange, *, status: int | None = None) -> None:
        """The response was sent in full (or ended by the router): record it and move to the next request."""
        if ex.done:
            return
        if ex.chunked_out and self.transport is not None:
            self._write(b"0\r\n\r\n")
        self.core.finished(ex, ex.status if status is None else status)
        if self.queue and self.queue[0] is ex:
            self.queue.popleft()
        if ex.close_after or self.closing:
            self.close()
            return
        self.resume_reading_for(_PIPELINE)
        if self.queue:
            self.core.dispatch(self.queue[0])
        else:
            self._arm(self.core.idle_timeout, idle=True)

    def fail(self, ex: Exchange, status: int, message: str) -> None:
        """The router answers for a request it could not pass on (before any response head was sent)."""
        ex.done = True
        if self.queue and self.queue[0] is ex:
            self.queue.popleft()
        if self.transport is not None and not ex.head_sent:
            self._write(error_response(status, message))
        self.close()
