"""A small asyncio fault proxy for HTTP/1.1 backends (Toxiproxy-style, on 127.0.0.1, no root needed).

It forwards bytes both ways and, per request, may instead:

- `latency` (+ up to `jitter`): hold the start of each response back this long;
- `error_rate`: answer with `error_status` (503) and `Connection: close` without reaching the backend;
- `reset_rate`: reset the client connection (TCP RST) without answering.

Decisions are made per request: the proxy parses the backend's responses (httptools) to know when one ends, so
the next bytes a keep-alive client sends start a new request and a new draw. Probabilities use `random.Random`
with an optional seed, so a test can make them repeatable. Settings can change while it runs (`configure`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from dataclasses import dataclass

import httptools

__all__ = ["FaultProxy", "ProxyCounters"]

_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class ProxyCounters:
    connections: int = 0
    requests: int = 0  # requests forwarded to the backend
    errors: int = 0  # requests answered with error_status
    resets: int = 0  # connections reset
    delayed: int = 0  # responses held back by latency


class _ResponseEnd:
    """httptools callbacks: note when a response completes."""

    def __init__(self) -> None:
        self.complete = False

    def on_message_complete(self) -> None:
        self.complete = True


class _Conn:
    def __init__(self, proxy: FaultProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.proxy = proxy
        self.reader, self.writer = reader, writer
        self.up_writer: asyncio.StreamWriter | None = None
        self.pump: asyncio.Task[None] | None = None
        self.busy = False  # a request was forwarded and its response has not completed
        self.response_started = False

    async def serve(self) -> None:
        proxy = self.proxy
        try:
            while True:
                chunk = await self.reader.read(65536)
                if not chunk:
                    return
                if not self.busy:
                    action = proxy.draw()
                    if action == "reset":
                        proxy.counters.resets += 1
                        _reset(self.writer)
                        return
                    if action == "error":
                        proxy.counters.errors += 1
                        await self._answer_error()
                        return
                    proxy.counters.requests += 1
                    self.busy, self.response_started = True, False
                    if self.up_writer is None and not await self._connect():
                        return
                assert self.up_writer is not None
                self.up_writer.write(chunk)
                await self.up_writer.drain()
        except (ConnectionError, OSError):
            return
        finally:
            await self.close()

    async def _connect(self) -> bool:
        try:
            up_reader, self.up_writer = await asyncio.open_connection(*self.proxy.upstream)
        except OSError:
            return False
        self.pump = asyncio.create_task(self._pump(up_reader))
        return True

    async def _pump(self, up_reader: asyncio.StreamReader) -> None:
        """Backend → client, holding each response's first bytes back by the latency."""
        ends = _ResponseEnd()
        parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(ends)
        try:
            while True:
                chunk = await up_reader.read(65536)
                if not chunk:
                    break
                if not self.response_started:
                    self.response_started = True
                    delay = self.proxy.delay()
                    if delay > 0:
                        self.proxy.counters.delayed += 1
                        await asyncio.sleep(delay)
                if parser is not None:
                    try:
                        parser.feed_data(chunk)
                    except httptools.HttpParserError:
                        parser = None  # not HTTP we understand: plain forwarding from here on
                self.writer.write(chunk)
                await self.writer.drain()
                if ends.complete:
                    ends.complete = False
                    self.busy, self.response_started = False, False
        except (ConnectionError, OSError):
            pass
        finally:
            self.writer.close()

    async def _answer_error(self) -> None:
        status = self.proxy.error_status
        body = f"greenflag fault proxy: injected {status}\n".encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.drain()

    def abort(self) -> None:
        """Drop both connections now (the serving task then ends by itself)."""
        for w in (self.up_writer, self.writer):
            if w is not None:
                w.transport.abort()

    async def close(self) -> None:
        for w in (self.up_writer, self.writer):
            if w is not None:
                w.close()
        if self.pump is not None and not self.pump.done():
            self.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await self.pump


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        latency: float = 0.0,
        jitter: float = 0.0,
        error_rate: float = 0.0,
        error_status: int = 503,
        reset_rate: float = 0.0,
        seed: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.upstream = upstream
        self.host = host
        self.latency = self.jitter = self.error_rate = self.reset_rate = 0.0
        self.error_status = 503
        self.configure(
            latency=latency, jitter=jitter, error_rate=error_rate, error_status=error_status, reset_rate=reset_rate
        )
        self.counters = ProxyCounters()
        self._random = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._conns: dict[asyncio.Task[None], _Conn] = {}
        self.port = 0

    def configure(
        self,
        *,
        latency: float | None = None,
        jitter: float | None = None,
        error_rate: float | None = None,
        error_status: int | None = None,
        reset_rate: float | None = None,
    ) -> None:
        """Change the faults while the proxy runs (None keeps a setting). Raises ValueError for bad values."""
        for name, value in (("error_rate", error_rate), ("reset_rate", reset_rate)):
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        for name, value in (("latency", latency), ("jitter", jitter)):
            if value is not None and value < 0:
                raise ValueError(f"{name} cannot be negative")
        if error_status is not None and not 500 <= error_status <= 599:
            raise ValueError(f"error_status must be a 5xx status, not {error_status}")
        self.latency = self.latency if latency is None else latency
        self.jitter = self.jitter if jitter is None else jitter
        self.error_rate = self.error_rate if error_rate is None else error_rate
        self.reset_rate = self.reset_rate if reset_rate is None else reset_rate
        self.error_status = self.error_status if error_status is None else error_status

    def draw(self) -> str:
        roll = self._random.random()
        if roll < self.reset_rate:
            return "reset"
        if roll < self.reset_rate + self.error_rate:
            return "error"
        return "forward"

    def delay(self) -> float:
        return self.latency + (self._random.uniform(0, self.jitter) if self.jitter else 0.0)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.url

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counters.connections += 1
        task = asyncio.current_task()
        assert task is not None
        conn = self._conns[task] = _Conn(self, reader, writer)
        try:
            await conn.serve()
        finally:
            self._conns.pop(task, None)

    async def stop(self, grace: float = 2.0) -> None:
        """Stop accepting; close idle connections, give those mid-request `grace` seconds, then close them too."""
        if self._server is None:
            return
        self._server.close()
        for conn in list(self._conns.values()):
            if not conn.busy:
                conn.abort()
        if self._conns:
            await asyncio.wait(set(self._conns), timeout=grace)
        for conn in list(self._conns.values()):
            conn.abort()
        if self._conns:
            await asyncio.wait(set(self._conns), timeout=grace)
        self._server = None
