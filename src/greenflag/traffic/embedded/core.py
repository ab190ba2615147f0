"""The proxy's shared state and decisions glue: route table, backends, dispatch, retries, drain, stats.

`ProxyCore` is owned by `EmbeddedRouter` (server.py); the client and upstream protocols call into it.
Routing decisions themselves are pure (routing.py); this module applies them to live connections.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import time
from collections.abc import Mapping

from greenflag.traffic.embedded.client import ClientConnection, Exchange
from greenflag.traffic.embedded.http1 import Limits
from greenflag.traffic.embedded.routing import STICKY_COOKIE, RouteTable, sticky_cookie_value
from greenflag.traffic.embedded.stats import StatsStore
from greenflag.traffic.embedded.upstream import Backend, UpstreamConnection

__all__ = ["ProxyCore"]

log = logging.getLogger("greenflag.router")
_RETRYABLE = (b"GET", b"HEAD")


class ProxyCore:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        route_header: str,
        sticky: bool,
        connect_timeout: float,
        header_timeout: float,
        idle_timeout: float = 75.0,
        body_timeout: float = 60.0,
        down_after: int = 3,
        limits: Limits | None = None,
    ) -> None:
        self.loop = loop
        self.route_header = route_header.lower().encode("latin-1")
        self.sticky = sticky
        self.connect_timeout = connect_timeout
        self.header_timeout = header_timeout
        self.idle_timeout = idle_timeout
        self.body_timeout = body_timeout  # longest gap between two reads of a request body (nginx's default)
        self.upstream_idle_s = 4.0
        self.down_after = down_after
        self.limits = limits or Limits()
        self.backends: dict[str, Backend] = {}
        self.weights: dict[str, int] = {}
        self.header_route: str | None = None
        self.table = RouteTable.build({})
        self.stats = StatsStore(time.monotonic)
        self.connections: set[ClientConnection] = set()
        self.random = random.Random().random
        self.rejected = 0
        self.unrouted = 0
        self.retries = 0
        self.client_aborts: dict[str, int] = {}
        self.dropped = 0  # requests lost because the router closed their connection (a bug if ever > 0)
        self.synthetic_key: bytes | None = None  # the X-Greenflag-Synthetic value of greenflag's analysis traffic

    # -- configuration ----------------------------------------------------------------------------------
    def rebuild(self) -> None:
        """Swap in a new route table (atomic for every request dispatched afterwards)."""
        down = [n for n, b in self.backends.items() if b.down]
        live = {n: w for n, w in self.weights.items() if n in self.backends and not self.backends[n].removed}
        self.table = RouteTable.build(live, down, self.header_route)

    def log_error(self, message: str, exc: BaseException | None) -> None:
        log.error("%s: %r", message, exc)

    # -- dispatch ---------------------------------------------------------------------------------------
    def dispatch(self, ex: Exchange, exclude: str | None = None) -> None:
        table = self.table
        if exclude is not None:
            name = table.pick(self.random(), exclude=exclude)
        else:
            tag, key = ex.facts.synthetic, self.synthetic_key
            ex.synthetic = tag is not None and key is not None and hmac.compare_digest(tag, key)
            sticky = sticky_cookie_value(ex.facts.cookie) if self.sticky else None
            name = table.choose(self.random(), ex.facts.route_value, sticky, self.backends, ex.synthetic)
        backend = self.backends.get(name) if name is not None else None
        if backend is None or backend.removed:
            self.unrouted += 1
            ex.client.fail(ex, 503, "no backend available")
            return
        ex.backend = backend
        backend.in_flight.add(ex)
        conn = backend.take_idle()
        if conn is not None:
            ex.reused = True
            conn.bind(ex)
        else:
            ex.reused = False
            self.loop.create_task(self._connect(ex, backend))

    async def open(self, backend: Backend) -> UpstreamConnection:
        """A new connection to the backend: its checked addresses in order. Raises OSError or TimeoutError."""
        error: OSError | TimeoutError = OSError(f"{backend.name} has no address")
        for address in backend.addresses:
            try:
                _, conn = await asyncio.wait_for(
                    self.loop.create_connection(lambda: UpstreamConnection(backend, self), address, backend.port),
                    self.connect_timeout,
                )
                return conn
            except (OSError, TimeoutError) as exc:
                error = exc
        raise error

    async def _connect(self, ex: Exchange, backend: Backend) -> None:
        try:
            conn = await self.open(backend)
        except (OSError, TimeoutError) as exc:
            self._connect_failed(ex, backend, exc)
            return
        backend.connect_failures = 0
        if backend.down:
            backend.down = False
            self.rebuild()
        if ex.aborted or ex.done:
            conn.idle_since = self.loop.time()
            backend.idle.append(conn)
            return
        conn.bind(ex)

    def _connect_failed(self, ex: Exchange, backend: Backend, exc: BaseException) -> None:
        backend.connect_failures += 1
        if backend.connect_failures >= self.down_after and not backend.down:
            backend.down = True
            log.warning("router: backend %s marked down after %d failed connects", backend.name, self.down_after)
            self.rebuild()
        backend.in_flight.discard(ex)
        if ex.aborted or ex.done:
            return
        if ex.method in _RETRYABLE and not ex.retried and not ex.has_body:
            ex.retried = True
            self.retries += 1
            ex.backend = None
            self.dispatch(ex, exclude=backend.name)
            return
        self._transport_error(ex, backend, f"backend {backend.name} unreachable: {exc!r}")

    def _transport_error(self, ex: Exchange, backend: Backend, message: str) -> None:
        ex.backend = backend
        backend.in_flight.add(ex)
        if ex.head_sent:
            self.finished(ex, 0)
            ex.client.close()
        else:
            self.finished(ex, 0)
            ex.client.fail(ex, 502, message)

    def upstream_failed(self, ex: Exchange, conn: UpstreamConnection, *, broken: bool) -> None:
        """The backend connection closed or sent garbage before the response was complete."""
        ex.upstream = None
        backend = conn.backend
        if ex.aborted or ex.done:
            return
        if not broken and not ex.head_sent and ex.reused and not ex.has_body and ex.req_done:
            ex.reused = False  # a stale keep-alive connection: try once more on a fresh one
            self.loop.create_task(self._connect(ex, backend))
            return
        self._transport_error(ex, backend, f"backend {backend.name} closed the connection")

    def client_gone(self, ex: Exchange, *, by_router: bool = False) -> None:
        backend = ex.backend
        if by_router:
            self.dropped += 1
        if backend is not None:
            backend.in_flight.discard(ex)
            self.client_aborts[backend.name] = self.client_aborts.get(backend.name, 0) + 1
            if ex.head_sent:
                self.stats.record(backend.name, ex.status, int((time.monotonic() - ex.started) * 1e6), ex.synthetic)
        conn = ex.upstream
        ex.done = True
        if conn is not None:
            ex.upstream = None
            conn.abort()

    def finished(self, ex: Exchange, status: int) -> None:
        ex.done = True
        backend = ex.backend
        if backend is None:
            return
        backend.in_flight.discard(ex)
        self.stats.record(backend.name, status, int((time.monotonic() - ex.started) * 1e6), ex.synthetic)

    def sticky_cookie(self, ex: Exchange) -> bytes:
        if not self.sticky or ex.backend is None or ex.facts.route_value is not None:
            return b""
        name = ex.backend.name
        if sticky_cookie_value(ex.facts.cookie) == name:
            return b""
        return b"Set-Cookie: %b=%b; Path=/; HttpOnly; SameSite=Lax\r\n" % (STICKY_COOKIE.encode(), name.encode())

    # -- drain ------------------------------------------------------------------------------------------
    def close_streams(self, backend: Backend) -> int:
        """Drain timeout: end the backend's open responses cleanly so clients reconnect elsewhere."""
        closed = 0
        for ex in list(backend.in_flight):
            if not ex.head_sent:
                continue
            conn = ex.upstream
            ex.close_after = True
            if conn is not None:
                conn.abort()
            ex.upstream = None
            if ex.chunked_out:
                ex.client.response_done(ex)
            else:
                self.finished(ex, 0)
                ex.client.close()
            closed += 1
        return closed

    def sweep(self) -> None:
        """Run the timeouts of client connections whose deadline has passed (called a few times a second)."""
        now = self.loop.time()
        for conn in [c for c in self.connections if c.deadline and c.deadline <= now]:
            conn.timeout()
        # Pooled backend connections idle for long may be closed by the backend at any moment (Node's default
        # keep-alive timeout is 5 s): retire them first rather than race the backend's close.
        for backend in self.backends.values():
            if backend.idle:
                backend.close_idle(older_than=now - self.upstream_idle_s)

    def in_flight(self) -> Mapping[str, int]:
        return {name: len(b.in_flight) for name, b in self.backends.items()}
