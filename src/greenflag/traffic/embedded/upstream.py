"""The backend side of the proxy: a backend (pool of keep-alive connections) and one upstream connection.

An `UpstreamConnection` is an asyncio Protocol with an httptools response parser. It is bound to one
`Exchange` at a time; response callbacks go straight to the client connection (no coroutine per request).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

import httptools

from greenflag.traffic.embedded.http1 import request_head

if TYPE_CHECKING:
    from greenflag.traffic.embedded.client import Exchange
    from greenflag.traffic.embedded.protocols import CoreForUpstream

__all__ = ["Backend", "UpstreamConnection", "parse_backend_url", "resolve"]

_FRAMING_NAMES = (b"content-length", b"transfer-encoding")


def parse_backend_url(url: str) -> tuple[str, int]:
    """'http://127.0.0.1:9001' → ('127.0.0.1', 9001). Raises ValueError saying what is expected."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{url!r}: expected http://HOST:PORT")
    try:
        port = parts.port or 80
    except ValueError:
        raise ValueError(f"{url!r}: bad port") from None
    return parts.hostname, port


def resolve(host: str, port: int) -> tuple[str, ...]:
    """The addresses of `host`, in the resolver's order (an IP literal is its own). Blocking. Raises ValueError."""
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValueError(f"cannot resolve {host!r}: {getattr(exc, 'strerror', None) or exc}") from None
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


class Backend:
    """A named backend: address, idle keep-alive connections, requests in flight, connect-failure count."""

    __slots__ = (
        "addresses", "connect_failures", "down", "host", "idle", "in_flight", "name", "port", "removed", "url",
    )  # fmt: skip

    def __init__(self, name: str, url: str, addresses: tuple[str, ...] = ()) -> None:
        self.name = name
        self.url = url
        self.host, self.port = parse_backend_url(url)
        self.addresses = addresses or (self.host,)  # connected to in order: the ones that were checked
        self.idle: list[UpstreamConnection] = []
        self.in_flight: set[Exchange] = set()
        self.connect_failures = 0
        self.down = False
        self.removed = False

    def take_idle(self) -> UpstreamConnection | None:
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                return conn
        return None

    def close_idle(self, older_than: float | None = None) -> None:
        """Close pooled connections (only those idle since before `older_than`, loop time, when given)."""
        keep = []
        for conn in self.idle:
            if older_than is not None and conn.idle_since >= older_than and not conn.closed:
                keep.append(conn)
            else:
                conn.close()
        self.idle[:] = keep


class UpstreamConnection(asyncio.Protocol):
    __slots__ = (
        "backend", "body_allowed", "closed", "content_length", "core", "ex", "has_length", "headers", "idle_since",
        "informational", "new_parser", "parser", "reason", "transport", "used",
    )  # fmt: skip

    def __init__(self, backend: Backend, core: CoreForUpstream) -> None:
        self.backend = backend
        self.core = core
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.ex: Exchange | None = None
        self.closed = False
        self.used = False
        self.new_parser = False
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.informational = False
        self.has_length = False
        self.content_length = False
        self.body_allowed = True

    # -- asyncio.Protocol -------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        if self.ex is None:  # unsolicited bytes on an idle connection: it cannot be reused safely
            self.close()
            return
        client = self.ex.client
        client.cork()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            ex = self.ex
            self.close()
            if ex is not None:
                self.ex = None
                self.core.upstream_failed(ex, self, broken=True)
        finally:
            client.uncork()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        ex = self.ex
        if ex is None:
            return
        self.ex = None
        if ex.head_sent and self.body_allowed and not self.has_length and not self.informational:
            ex.client.response_done(ex)  # close-delimited response: EOF is its end
        else:
            self.core.upstream_failed(ex, self, broken=False)

    def pause_writing(self) -> None:
        if self.ex is not None:
            self.ex.client.pause_reading_for(2)

    def resume_writing(self) -> None:
        if self.ex is not None:
            self.ex.client.resume_reading_for(2)

    # -- the exchange -----------------------------------------------------------------------------------
    def bind(self, ex: Exchange) -> None:
        assert self.transport is not None
        self.ex = ex
        ex.upstream = self
        if self.new_parser:
            self.parser = httptools.HttpResponseParser(self)
            self.new_parser = False
        self._reset()
        head = request_head(ex.method, ex.url, ex.headers, ex.facts, ex.client.client_ip)
        if ex.pending:
            head += b"".join(ex.pending)
            ex.pending.clear()
            ex.client.resume_reading_for(4)
        self.used = True
        self.transport.write(head)
        if ex.client.write_paused:
            self.transport.pause_reading()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        self.ex = None
        if self.transport is not None:
            self.transport.abort()

    def release(self) -> None:
        """The exchange is over: back to the pool when reusable, else close."""
        ex = self.ex
        self.ex = None
        if ex is not None:
            ex.upstream = None
        reusable = ex is not None and ex.req_done and not self.closed and not self.backend.removed
        reusable = reusable and self.has_length_or_no_body
        if reusable and self.parser.should_keep_alive() and self.transport is not None:
            if ex is not None and ex.client.write_paused:
                self.transport.resume_reading()
            self.idle_since = self.core.loop.time()
            self.backend.idle.append(self)
        else:
            self.close()

    @property
    def has_length_or_no_body(self) -> bool:
        return self.has_length or not self.body_allowed

    # -- httptools callbacks ----------------------------------------------------------------------------
    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        length = len(name)
        if length == 14 or length == 17:
            lname = name.lower()
            if lname == b"content-length":
                self.content_length = self.has_length = True
            elif lname == b"transfer-encoding":
                # Only `chunked`, once: the router decodes it and re-chunks for the client, so another coding (which
                # it would pass on undecoded, without saying so) or chunked twice is a framing it cannot forward.
                if self.has_length or value.strip().lower() != b"chunked":
                    raise ValueError("a transfer coding other than chunked, or framing given twice")
                self.has_length = True  # the end of the message is known (the body is re-chunked for the client)
            elif lname.replace(b"_", b"-").replace(b".", b"-") in _FRAMING_NAMES:
                raise ValueError("a look-alike of a framing header")  # Content_Length: ambiguous for the next hop

    def on_headers_complete(self) -> None:
        ex = self.ex
        if ex is None:
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self.informational = True
            if status == 101:  # we never forward Upgrade, so a 101 is a broken backend
                self.close()
                return
            ex.client.informational(ex, status, self.reason)
            return
        self.body_allowed = not (ex.method == b"HEAD" or status in (204, 304))
        ex.client.response_head(ex, status, self.reason, self.headers, self.body_allowed and not self.content_length)
        if ex.method == b"HEAD":  # llhttp does not know the request method: end the message here
            self.new_parser = True
            self._finish(ex)

    def on_body(self, body: bytes) -> None:
        ex = self.ex
        if ex is not None:
            ex.client.response_body(ex, body)

    def on_message_complete(self) -> None:
        ex = self.ex
        if ex is None:
            return
        if self.informational:
            self._reset()
            return
        self._finish(ex)

    def _finish(self, ex: Exchange) -> None:
        self.release()
        ex.client.response_done(ex)
