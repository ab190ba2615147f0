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
_PIPELINE, _UPSTREAM_FULL, _PENDING_FULL, _REFUSED = 1, 2, 4, 8
_LINGER_S = 2.0  # after an error answer: how long input is read and dropped, so a close does not reset it away


class Exchange:
    """One request and its response through the proxy."""

    __slots__ = (
        "aborted", "backend", "chunked_out", "client", "close_after", "done", "facts", "head_sent", "headers",
        "http11", "keep_alive", "method", "pending", "pending_bytes", "req_done", "retried", "reused", "started",
        "status", "synthetic", "upstream", "url",
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
        self.synthetic = False  # greenflag's analysis traffic (a valid X-Greenflag-Synthetic tag): counted apart

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
        self.head_bytes = 0  # bytes received towards the request head being read (all of it counts, see below)
        self.max_head = core.limits.max_header_bytes
        self.body_bytes = 0  # of the chunked body being read
        self.refused: bytes | None = None  # error response to send once the requests before it are answered
        self.no_more = False  # the last request was read (it ends the connection)
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
        # The first request's head must be in within the header timeout from accept (HAProxy's `timeout http-request`,
        # nginx's `client_header_timeout`): silently closed when nothing came (an unused pre-connection), else 408.
        self._arm(self.core.header_timeout, idle=False)

    def data_received(self, data: bytes) -> None:
        if self.closing:  # (after a refusal reading is paused for good: no data comes here)
            return
        if self.idle and self.deadline and not self.queue:
            self._arm(self.core.header_timeout, idle=False)
        if self.cur is None:  # reading a head (or between requests): the head-size limit counts bytes received,
            self.head_bytes += len(data)  # so a header without an end is not buffered whole; reset at its end
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
            if self.no_more and self.cur is None:  # bytes after the last request (`Connection: close`): not read
                self.pause_reading_for(_REFUSED)
            else:
                self.reject(400, f"malformed request: {err}")
        # (A read that began in a body and ended in the next head is not counted: at most one read beyond the limit.)
        if self.head_bytes > self.max_head:  # (0 again once a head completed in this read)
            self.reject(431, "request headers too large")

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
        up = self.queue[0].upstream if self.queue else None
        if up is not None and up.transport is not None:
            up.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        up = self.queue[0].upstream if self.queue else None
        if up is not None and up.transport is not None:
            up.transport.resume_reading()

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
        if self.transport is None or self.closing:  # (the end of a lingering close)
            if self.transport is not None:
                self.transport.close()
            return
        ex = self.cur
        if ex is not None and ex.has_body and not ex.req_done and not ex.done:
            if self.queue and self.queue[0] is not ex:  # earlier pipelined requests are still being answered
                self._arm(self.core.body_timeout, idle=False)
                return
            self.reject(408, "request body not received in time")
            return
        if self.queue:
            return
        if self.idle or (not self.head_bytes and self.cur is None):  # idle, or never sent a byte: no answer
            self.close()
        else:
            self.reject(408, "request headers not received in time")

    def close(self, *, linger: bool = False) -> None:
        """Close; with `linger`, after an error answer, half-close and drop what the client still sends for a while
        (as nginx's lingering close): closing with unread input would reset the connection, answer included."""
        self.closing = True
        self.uncork()
        transport = self.transport
        if transport is None:
            return
        if linger and transport.can_write_eof():
            transport.write_eof()
            self.paused = 0
            transport.resume_reading()
            self._arm(_LINGER_S, idle=True)
            return
        transport.close()

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
        """Refuse the request being read: answer `status` once the requests before it are answered, then close. If its
        head was passed on and its body broke off (bad chunk, too large, stalled), its backend connection is closed and
        it counts as the client's (`rejected`, `client_aborts`), never as a response or error of the backend."""
        self.core.rejected += 1
        if self.transport is None or self.closing or self.refused is not None:
            return
        self._disarm()
        self.pause_reading_for(_REFUSED)  # nothing more is read
        ex = self.cur
        if ex is not None:
            self.cur = None
            if self.queue and self.queue[0] is ex:  # on its way to a backend
                self.queue.popleft()
                self.core.client_gone(ex)
                if ex.head_sent:  # the backend had begun to answer: too late for a status, just close
                    self.close()
                    return
            elif ex in self.queue:  # not yet passed on: forgotten
                self.queue.remove(ex)
        response = error_response(status, message)
        if self.queue:  # let the requests before it finish
            self.refused = response
            self.queue[-1].close_after = True
            return
        self._write(response)
        self.close(linger=True)

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
        version = parser.get_http_version()
        core = self.core
        facts = check_request(method, self.url, self.headers, core.route_header, version, core.limits.max_body_bytes)
        ex = Exchange(self, method, self.url, self.headers, facts, parser.should_keep_alive(), version == "1.1")
        self.cur = ex
        self.head_bytes = 0
        if ex.close_after:
            self.no_more = True
        if facts.chunked or facts.content_length:  # the body must keep coming: no gap over body_timeout
            if facts.chunked:
                self.headers = []  # its trailers land here, never in the forwarded head
                self.body_bytes = 0
            self._arm(core.body_timeout, idle=False)
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
            if ex.facts.chunked:  # (a Content-Length body was checked against the limit with the head)
                self.body_bytes += len(body)
                if self.body_bytes > (self.core.limits.max_body_bytes or self.body_bytes):
                    raise BadRequest(413, f"request body larger than {self.core.limits.max_body_bytes} bytes")
                body = chunk(body)
            ex.send_body(body)

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
            refused = None if self.queue or self.closing else self.refused
            if refused is not None:
                self._write(refused)  # the refused request's answer, after those before it
            self.close(linger=refused is not None)
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
        self.close(linger=not ex.head_sent)
