"""Quick mode: `greenflag load run URL` — every iteration is one request to one URL (like wrk and hey).

Closed models run in *bursts*: while a keep-alive connection is healthy, the response callback records the
request and writes the next one at once (no task wake-up, no future per request), as wrk does. Connects, errors
and reconnects take the ordinary coroutine path (`iteration`). Open models always use `iteration`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from greenflag.load.engine.executors import RunState
from greenflag.load.http.client import Client, Connection, Target, build_request
from greenflag.load.metrics.series import Registry, Series

__all__ = ["UrlScenario"]

_perf = time.perf_counter


class UrlScenario:
    def __init__(
        self,
        target: Target,
        registry: Registry,
        *,
        method: str = "GET",
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self.target = target
        self.registry = registry
        self.method = method
        self.data = build_request(method, target, headers=headers or [], body=body)
        self.name = target.origin + target.path
        self.timeout = timeout
        self.connect_timeout = connect_timeout

    def new_vu(self, vu_id: int) -> UrlVU:
        return UrlVU(self)


OnDone = Callable[["UrlVU", float | None], None]  # the runner's: (vu, due of a request to send again or None)


class BurstConnection(Connection):
    """A connection that chains requests from its response callback (closed-model bursts) or runs single
    requests with a completion callback and no future (open-model `fire`)."""

    vu: UrlVU | None = None
    timeout_s = 60.0
    on_done: OnDone | None = None
    due = 0.0
    # No headers-complete callback into Python: status and keep-alive are read when the message completes
    # (llhttp knows a GET/POST response's framing by itself). HEAD needs it: see HeadBurstConnection.
    on_headers_complete = None  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        parser = self.parser
        status = parser.get_status_code()
        if 100 <= status < 200:
            return  # an interim response; the final one follows
        self.status = status
        self.keep_alive = parser.should_keep_alive()
        if self.pending:
            self._finish(status, None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.pending and self.t_first and not self.status:
            self.status = self.parser.get_status_code()  # a body delimited by the close completes here
            self.keep_alive = False
        super().connection_lost(exc)

    def fire(self, vu: UrlVU, due: float, on_done: OnDone) -> None:
        """Send one request; when it completes, record it (latency from `due`) and call on_done(vu, None)."""
        self.vu = vu
        self.due = due
        self.on_done = on_done
        self.timeout_s = vu.timeout
        self.pending = True
        self.head = vu.head
        self.status = 0
        self.error = None
        self.t_first = 0.0
        self.bytes_recv = 0
        self._timer = self.loop.call_later(vu.timeout, self._watchdog)
        self.t_sent = _perf()
        assert self.transport is not None
        self.transport.write(vu.data)

    def _fired(self, status: int, error: str | None) -> None:
        vu, on_done = self.vu, self.on_done
        assert vu is not None and on_done is not None
        self.vu = self.on_done = None
        self.t_done = _perf()
        self.error = error
        self.pending = False
        self.requests_done += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if error is not None:
            self._abort()
        elif not self.keep_alive:
            self._close()
        vu.fired(self, status, on_done)

    def abandon(self) -> None:
        self.vu = None
        self.on_done = None
        super().abandon()

    def burst(self, vu: UrlVU, data: bytes, timeout: float) -> asyncio.Future[int]:
        """Start a burst; the future resolves with the status of the request that ends it (an error, a
        connection that will close, or the VU having nothing more to do)."""
        self.vu = vu
        self.timeout_s = timeout
        waiter = self.request(data, timeout, vu.head)
        return waiter

    def _watchdog(self) -> None:
        self._timer = None
        if not self.pending:
            return
        elapsed = _perf() - self.t_sent
        if elapsed >= self.timeout_s:
            self._finish(0, "timeout")
        else:
            self._timer = self.loop.call_later(self.timeout_s - elapsed, self._watchdog)

    def _finish(self, status: int, error: str | None) -> None:
        if self.on_done is not None:
            self._fired(status, error)
            return
        vu = self.vu
        if vu is None or error is not None or not self.keep_alive or self.waiter is None:
            self.vu = None
            super()._finish(status, error)
            return
        # the hot path of a burst: record, then write the next request from this very callback
        t_done = _perf()
        t_sent = self.t_sent
        self.t_done = t_done
        self.requests_done += 1
        series = vu.last
        if series is None or series.status != status:
            series = vu.series(status)
        # Series.record_http for a reused connection (no blocked/connect/TLS, latency = duration), inlined:
        # this runs once per request and the call alone cost ~4 % of the engine's instructions (callgrind)
        t_first = self.t_first or t_done
        series.reqs += 1
        series.failed += not series.expected
        series.bytes_sent += vu.sent
        series.bytes_recv += self.bytes_recv
        duration = int((t_done - t_sent) * 1e6)
        series.dur(duration)
        series.lat(duration)
        series.wait(int((t_first - t_sent) * 1e6))
        series.recv(int((t_done - t_first) * 1e6))
        vu.registry.iterations += 1
        vu.iteration_append(duration)
        keep_going, state = vu.keep_going, vu.state
        if state is None or t_done >= state.stop_at or (keep_going is not None and not keep_going()):
            self.vu = None
            super()._finish(status, None)
            vu.burst_ended_recorded = True
            return
        self.status = 0
        self.t_first = 0.0
        self.bytes_recv = 0
        self.t_sent = _perf()
        if self._timer is None:
            self._timer = self.loop.call_later(self.timeout_s, self._watchdog)
        assert self.transport is not None
        self.transport.write(vu.data)

    def request(self, data: bytes, timeout: float, head: bool = False) -> asyncio.Future[int]:
        waiter = super().request(data, timeout, head)
        if self._timer is not None:  # replace the per-request timer with the burst watchdog
            self._timer.cancel()
            self._timer = self.loop.call_later(timeout, self._watchdog)
        return waiter


class HeadBurstConnection(BurstConnection):
    """HEAD responses announce a body they do not send: the parser must be told at the end of the headers."""

    on_headers_complete = Connection.on_headers_complete  # type: ignore[assignment]


class UrlVU:
    __slots__ = (
        "burst_ended_recorded",
        "client",
        "data",
        "head",
        "idempotent",
        "iteration_append",
        "keep_going",
        "last",
        "method",
        "name",
        "registry",
        "sent",
        "state",
        "timeout",
    )

    def __init__(self, scenario: UrlScenario) -> None:
        self.client = Client(
            scenario.target,
            timeout=scenario.timeout,
            connect_timeout=scenario.connect_timeout,
            protocol_class=HeadBurstConnection if scenario.method == "HEAD" else BurstConnection,
        )
        self.data = scenario.data
        self.sent = len(scenario.data)
        self.method = scenario.method
        self.head = scenario.method == "HEAD"
        self.idempotent = scenario.method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")
        self.name = scenario.name
        self.registry = scenario.registry
        self.timeout = scenario.timeout
        self.last: Series | None = None
        self.keep_going: Callable[[], bool] | None = None
        self.state: RunState | None = None  # the runner's (`bind`)
        self.burst_ended_recorded = False
        self.iteration_append = scenario.registry.iteration_duration.raw.append

    def bind(self, state: RunState) -> None:
        self.state = state

    async def start(self) -> None:
        return None

    def series(self, status: int) -> Series:
        series = self.last
        if series is None or series.status != status:
            series = self.last = self.registry.series_for(self.name, self.method, status)
        return series

    async def iteration(self, scheduled: float) -> None:
        client = self.client
        try:
            status = await client.send(self.data, head=self.head, idempotent=self.idempotent)
        except asyncio.CancelledError:  # the end of the run: the request in flight is counted, interrupted
            if client.interrupt():
                self.series(0).record_interrupted(self.sent)
            raise
        self.series(status).record_http(
            scheduled,
            client.t_sent,
            client.t_first,
            client.t_done,
            client.blocked_s,
            client.connecting_s,
            client.tls_s,
            self.sent,
            client.bytes_recv,
            client.error,
        )

    # -- open model without a task per iteration -----------------------------------------------------------
    def fire(self, due: float, on_done: OnDone) -> bool:
        """Start an iteration from a callback when the connection is live; False means: use `iteration`."""
        conn = self.client.conn
        if conn is None or conn.closed or conn.pending or not isinstance(conn, BurstConnection):
            return False
        conn.fire(self, due, on_done)
        return True

    def stale(self, conn: Connection) -> bool:
        """The server had closed this reused keep-alive connection before our request reached it: an
        idempotent request is sent again on a new connection, as `Client.send` (and browsers) do."""
        return self.idempotent and conn.error in ("closed", "reset") and conn.t_first == 0.0 and conn.requests_done > 1

    def fired(self, conn: BurstConnection, status: int, on_done: OnDone) -> None:
        if conn.closed:
            self.client.conn = None
        if status == 0 and self.stale(conn):
            on_done(self, conn.due)  # the runner sends it again on a new connection (unless the run has ended)
            return
        self.record_fired(conn, status)
        on_done(self, None)

    def interrupt(self) -> bool:
        """The run has ended: cut off a callback iteration in flight (its request counted, interrupted)."""
        conn = self.client.conn
        if not isinstance(conn, BurstConnection) or conn.on_done is None or not conn.pending:
            return False
        self.client.interrupt()
        self.series(0).record_interrupted(self.sent)
        return True

    def record_fired(self, conn: BurstConnection, status: int) -> None:
        self.series(status).record_http(
            conn.due, conn.t_sent, conn.t_first, conn.t_done, 0.0, 0.0, 0.0, self.sent, conn.bytes_recv, conn.error
        )
        registry = self.registry
        registry.iterations += 1
        registry.iteration_duration.raw.append(int((conn.t_done - conn.due) * 1e6))

    # -- closed-model bursts -----------------------------------------------------------------------------
    async def loop(self, keep_going: Callable[[], bool] | None, state: RunState) -> None:
        """Iterate until `keep_going()` (None: always) says no or `state.stop_at` passes: bursts on a live
        connection, the coroutine path for everything else. Cancelled at the end of the graceful stop: the
        iteration in flight is counted as interrupted, its request too."""
        self.keep_going, self.state = keep_going, state
        try:
            await self._loop(keep_going, state)
        except asyncio.CancelledError:
            self.registry.interrupted_iterations += 1  # every await of the loop is inside an iteration
            if self.client.interrupt():  # a burst's request in flight (the coroutine path counts its own)
                self.series(0).record_interrupted(self.sent)
            raise

    async def _loop(self, keep_going: Callable[[], bool] | None, state: RunState) -> None:
        client = self.client
        registry = self.registry
        while (keep_going is None or keep_going()) and _perf() < state.stop_at:
            conn = client.conn
            if conn is None or conn.closed or not isinstance(conn, BurstConnection):
                scheduled = _perf()
                await self.iteration(scheduled)
                registry.iterations += 1
                registry.iteration_duration.raw.append(int((_perf() - scheduled) * 1e6))
                continue
            self.burst_ended_recorded = False
            status = await conn.burst(self, self.data, self.timeout)
            if conn.closed:
                client.conn = None
            if self.burst_ended_recorded:
                continue  # the last request was recorded by the callback; keep_going/running said stop
            if status == 0 and self.stale(conn):
                scheduled = conn.t_sent
                await self.iteration(scheduled)  # the same request again, on a new connection
                registry.iterations += 1
                self.iteration_append(int((_perf() - scheduled) * 1e6))
                continue
            # the request that ended the burst (an error, or a connection about to close): record it here
            self.series(status).record_http(
                conn.t_sent,
                conn.t_sent,
                conn.t_first,
                conn.t_done,
                0.0,
                0.0,
                0.0,
                self.sent,
                conn.bytes_recv,
                conn.error,
            )
            registry.iterations += 1
            registry.iteration_duration.raw.append(int((conn.t_done - conn.t_sent) * 1e6))

    async def stop(self) -> None:
        self.client.close()
