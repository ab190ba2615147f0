"""The load engine's HTTP/1.1 client: a callback `asyncio.Protocol` over httptools (llhttp).

Built for the hot path: one keep-alive connection per VU, request bytes built once and reused, timings kept as
attributes of the connection (no per-request objects beyond one future), response bodies counted but not kept
unless asked. Errors never raise out of `Client.send`: they come back as an error class
(connect_refused, connect_timeout, dns, tls, reset, timeout, protocol, closed), HTTP statuses as numbers.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from typing import Any

import httptools

from greenflag.load.http.head import Target, build_request, parse_target

# Target, build_request and parse_target live in head.py (pure); they are here too for the client's users
__all__ = ["Client", "Connection", "Target", "build_request", "parse_target"]

_perf = time.perf_counter
IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection. `request()` sends bytes and resolves with the status (0 on error)."""

    keep_body = False
    keep_headers = False

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[int] | None = None
        self.pending = False  # a request is in flight (with or without a waiter future)
        self.closed = False
        self.requests_done = 0
        self.head = False
        self.status = 0
        self.error: str | None = None
        self.t_sent = 0.0
        self.t_first = 0.0
        self.t_done = 0.0
        self.bytes_recv = 0
        self.keep_alive = True
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol --------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.t_first == 0.0:
            self.t_first = _perf()
        self.bytes_recv += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._finish(0, "protocol")
        except httptools.HttpParserError:
            if self.pending:  # a parse error after completion (e.g. bytes after HEAD) is not ours
                self._finish(0, "protocol")
            self._abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.pending:
            if self.t_first == 0.0:
                self._finish(0, "closed" if exc is None else "reset")
            elif self.status and exc is None and not self.keep_alive:
                self._finish(self.status, None)  # a body delimited by the connection closing
            else:
                self._finish(0, "reset")

    # -- httptools callbacks -----------------------------------------------------------------------------
    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        if self.head or self.status in (204, 304) or 100 <= self.status < 200:
            if 100 <= self.status < 200:
                return  # interim response: the final one follows
            self.parser = httptools.HttpResponseParser(self)  # no body follows; start clean for the next one
            self._finish(self.status, None)

    def on_message_complete(self) -> None:
        if self.status and 100 <= self.status < 200:
            self.status = 0
            return
        if self.pending:
            self._finish(self.status, None)

    # -- requests ----------------------------------------------------------------------------------------
    def _finish(self, status: int, error: str | None) -> None:
        self.t_done = _perf()
        self.error = error
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiter, self.waiter = self.waiter, None
        self.pending = False
        self.requests_done += 1
        if error is not None or not self.keep_alive:
            self._abort() if error is not None else self._close()
        if waiter is not None and not waiter.done():
            waiter.set_result(status)

    def _on_timeout(self) -> None:
        self._timer = None
        if self.pending:
            self._finish(0, "timeout")

    def _abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def abandon(self) -> None:
        """Give up the request in flight (the run has ended): no result, no retry, the connection is aborted."""
        self.pending = False
        waiter, self.waiter = self.waiter, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._abort()
        if waiter is not None and not waiter.done():
            waiter.cancel()

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def request(self, data: bytes, timeout: float, head: bool = False) -> asyncio.Future[int]:
        """Send a serialised request; the future resolves with the status (0 with `.error` set on failure)."""
        waiter = self.loop.create_future()
        self.waiter = waiter
        self.pending = True
        self.head = head
        self.status = 0
        self.error = None
        self.t_first = 0.0
        self.bytes_recv = 0
        if self.keep_headers:
            self.headers = []
        if self.keep_body:
            self.body = []
        self._timer = self.loop.call_later(timeout, self._on_timeout)
        self.t_sent = _perf()
        assert self.transport is not None
        self.transport.write(data)
        return waiter


class FullConnection(Connection):
    """A connection that keeps response headers and bodies (for scripted journeys). The plain `Connection`
    defines no header/body callbacks at all, so llhttp does not call into Python for them."""

    keep_body = True
    keep_headers = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)


def _classify_connect_error(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ConnectionRefusedError):
        return "connect_refused"
    if isinstance(exc, TimeoutError):
        return "connect_timeout"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    return "connect_error"


class Client:
    """A VU's connection to one origin: connects lazily, keeps alive, reconnects when the server closed.

    After `send()`, the timing attributes describe the request: blocked_s (waiting for a connection, including
    connecting and TLS), connecting_s, tls_s, and the connection's t_sent / t_first / t_done.
    """

    def __init__(
        self,
        target: Target,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        keep_body: bool = False,
        protocol_class: type[Connection] | None = None,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.ssl_context = ssl_context
        self.protocol_class: type[Connection] = protocol_class or (FullConnection if keep_body else Connection)
        self.conn: Connection | None = None
        self.blocked_s = 0.0
        self.connecting_s = 0.0
        self.tls_s = 0.0
        self.connects = 0
        self.error: str | None = None
        # timings of the last request (copied from its connection, which may be gone)
        self.t_sent = 0.0
        self.t_first = 0.0
        self.t_done = 0.0
        self.bytes_recv = 0
        # the last response's headers and body chunks when keep_body (the connection may be gone after send)
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []

    async def _connect(self) -> Connection | None:
        loop = asyncio.get_running_loop()
        t0 = _perf()
        try:
            async with asyncio.timeout(self.connect_timeout):
                transport, conn = await loop.create_connection(
                    lambda: self.protocol_class(loop), self.target.host, self.target.port
                )
                t1 = _perf()
                self.connecting_s = t1 - t0
                if self.target.tls:
                    context = self.ssl_context or ssl.create_default_context()
                    new_transport = await loop.start_tls(transport, conn, context, server_hostname=self.target.host)
                    if new_transport is None:
                        raise ConnectionResetError("TLS handshake failed")
                    conn.transport = new_transport
                    self.tls_s = _perf() - t1
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            self.error = _classify_connect_error(exc)
            self.connecting_s = _perf() - t0
            return None
        self.connects += 1
        return conn

    async def send(self, data: bytes, *, head: bool = False, idempotent: bool = True) -> int:
        """Send one request; returns the status, or 0 with `self.error` set. Never raises for network errors."""
        self.blocked_s = self.connecting_s = self.tls_s = 0.0
        self.error = None
        for attempt in (0, 1):
            conn = self.conn
            reused = conn is not None
            if conn is None or conn.closed:
                t0 = _perf()
                conn = self.conn = await self._connect()
                self.blocked_s = _perf() - t0
                reused = False
                if conn is None:
                    self.t_sent = self.t_done = _perf()
                    self.t_first = 0.0
                    self.bytes_recv = 0
                    return 0
            status = await conn.request(data, self.timeout, head)
            self.error = conn.error
            self.t_sent, self.t_first, self.t_done = conn.t_sent, conn.t_first, conn.t_done
            self.bytes_recv = conn.bytes_recv
            if conn.keep_body:
                self.headers, self.body = conn.headers, conn.body
            if conn.closed:
                self.conn = None
            # A reused keep-alive connection the server had already closed: retry once on a new one.
            stale = conn.error in ("closed", "reset") and conn.t_first == 0.0
            if status == 0 and reused and attempt == 0 and idempotent and stale:
                continue
            return status
        return 0

    @property
    def last(self) -> Connection | None:
        return self.conn

    def interrupt(self) -> bool:
        """Abandon the request in flight, if one has been sent and not answered; True when there was one. For the
        end of a run: the caller counts it as interrupted."""
        conn = self.conn
        if conn is None or not conn.pending:
            return False
        conn.abandon()
        self.conn = None
        return True

    def close(self) -> None:
        if self.conn is not None:
            self.conn._close()
            self.conn = None

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Client({self.target.origin})"


def response_headers(conn: Connection) -> dict[str, Any]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in conn.headers}
