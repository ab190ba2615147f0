"""A real HTTP/1.1 server on 127.0.0.1 for load-engine tests: counts every request it receives (`received`, when
its head has arrived, with the wall-clock time in `received_at`) and answers (`count`), can hold every response
(`delay`, a slow endpoint) or stall all responses for a window of time, and can serve TLS. It is strict: each
request head is checked against the HTTP/1.1 grammar (RFC 9112 request line in origin form, token header names,
header values without control characters); `request_lines` keeps every request line, `malformed` the heads that
broke the grammar (answered 400). Runs its own event loop in a thread."""

from __future__ import annotations

import asyncio
import re
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["CountingServer", "counting_server", "well_formed"]

_REQUEST_LINE = re.compile(
    rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+ /(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})* HTTP/1\.1"
)
_FIELD = re.compile(
    rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[ \t]*(?:[\x21-\x7e\x80-\xff]+(?:[ \t]+[\x21-\x7e\x80-\xff]+)*)?[ \t]*"
)


def well_formed(head: bytes) -> bool:
    """A request head (without the final CRLF CRLF) that follows the HTTP/1.1 grammar, in origin form."""
    request_line, *fields = head.split(b"\r\n")
    return bool(_REQUEST_LINE.fullmatch(request_line)) and all(_FIELD.fullmatch(field) for field in fields)


class CountingServer:
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.count = 0  # responses written
        self.received = 0  # request heads read
        self.received_at: list[float] = []  # time.time() of each request head read
        self.delay = 0.0  # hold every response this long (a slow endpoint)
        self.reading = 0  # connections waiting for a request head (0 once every client is gone or answered)
        self.request_lines: list[bytes] = []
        self.malformed: list[bytes] = []
        self.port = 0
        self.stall_from = float("inf")  # perf_counter instants
        self.stall_until = 0.0
        self.stall_after_requests: int | None = None
        self.stall_seconds = 0.0
        self.status = 200
        self.close_silently = False  # close each connection after one response, without `Connection: close`
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}/"

    def reset(self) -> None:
        """Back to a fresh server between the tests of a module (one server per module): connections still open
        are closed, counts and settings start over."""
        asyncio.run_coroutine_threadsafe(self._drop_connections(), self._loop).result(5)
        self.count = self.received = 0
        self.received_at = []
        self.request_lines = []
        self.malformed = []
        self.delay = 0.0
        self.stall_from, self.stall_until = float("inf"), 0.0
        self.stall_after_requests = None
        self.status = 200
        self.close_silently = False

    def stall(self, seconds: float, after_requests: int) -> None:
        """Once `after_requests` requests were answered, hold every response for `seconds` (a stall window
        that starts with the traffic, however long the client took to start)."""
        self.stall_after_requests = after_requests
        self.stall_seconds = seconds

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl_context, backlog=1024)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                self.reading += 1
                try:
                    head_request = await reader.readuntil(b"\r\n\r\n")
                finally:
                    self.reading -= 1
                self.received += 1
                self.received_at.append(time.time())
                self.request_lines.append(head_request.split(b"\r\n", 1)[0])
                if not well_formed(head_request[:-4]):
                    self.malformed.append(head_request)
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    await writer.drain()
                    break
                length = 0
                for line in head_request.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                now = time.perf_counter()
                if self.stall_after_requests is not None and self.count >= self.stall_after_requests:
                    self.stall_after_requests = None
                    self.stall_from, self.stall_until = now, now + self.stall_seconds
                if self.stall_from <= now < self.stall_until:
                    await asyncio.sleep(self.stall_until - now)
                if self.delay:
                    await asyncio.sleep(self.delay)
                body = b"counted\n"
                head = b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n" % (
                    self.status,
                    len(body),
                )
                writer.write(head if head_request.startswith(b"HEAD ") else head + body)
                self.count += 1
                await writer.drain()
                if self.close_silently:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ssl.SSLError):
            pass
        except asyncio.CancelledError:  # the server stops (see stop): end quietly
            pass
        finally:
            writer.close()

    def start(self) -> CountingServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    async def _drop_connections(self) -> None:
        handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in handlers:  # connections still held open (a slow endpoint, keep-alive)
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        self.reading = 0

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            await self._drop_connections()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@contextmanager
def counting_server(ssl_context: ssl.SSLContext | None = None) -> Iterator[CountingServer]:
    server = CountingServer(ssl_context).start()
    try:
        yield server
    finally:
        server.stop()
