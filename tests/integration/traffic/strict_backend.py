"""A strict HTTP/1.1 origin server for proxy tests: parses requests by RFC 9112 and records every one it parses.

Anything RFC 9112 does not allow (bare CR or LF, obs-fold, whitespace before the colon, a field name that is not a
token, Content-Length with Transfer-Encoding, differing Content-Lengths, a transfer coding other than `chunked`,
Transfer-Encoding in HTTP/1.0, HTTP/1.1 without exactly one Host, a malformed chunk line) gets 400 and a closed
connection, and is recorded as an error. Every request it does parse is recorded (connection, order, method,
target, the X-Forwarded-For value a proxy put in) and answered `200` with an `X-Seq: N` header, N unique, so a
test can tell which of the backend's requests each client got an answer for.

    backend = StrictBackend(); await backend.start(); backend.port; backend.requests; await backend.stop()
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

__all__ = ["BackendError", "Invalid", "Recorded", "StrictBackend", "parse_request"]

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN_RE = re.compile(_TOKEN)
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) HTTP/1\.([01])")
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
_QUOTED = rb'"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"'
_CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,16})((?:[ \t]*;[ \t]*" + _TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|" + _QUOTED + rb"))?)*)"
)
_XFF = re.compile(rb"\r\nX-Forwarded-For:[ \t]*([^\r\n]*)", re.I)
MAX_HEAD = 64 * 1024


class Incomplete(Exception):
    """More bytes are needed."""


class Invalid(Exception):
    """Not a valid HTTP/1.1 request (RFC 9112)."""


@dataclass
class Recorded:
    seq: int
    conn: int
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    xff: str | None  # the last X-Forwarded-For element: the client address the proxy saw (None: no header)
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)


@dataclass
class BackendError:
    conn: int
    reason: str
    xff: str | None  # found in the refused bytes, when there


@dataclass
class _Parsed:
    method: bytes
    target: bytes
    version: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)


def _line(buf: bytes, pos: int) -> tuple[bytes, int]:
    end = buf.find(b"\r\n", pos)
    if end < 0:
        if b"\n" in buf[pos:] or (b"\r" in buf[pos:-1]):
            raise Invalid("bare LF or CR")
        if len(buf) - pos > MAX_HEAD:
            raise Invalid("line too long")
        raise Incomplete
    line = buf[pos:end]
    if b"\r" in line or b"\n" in line:
        raise Invalid("bare LF or CR")
    return line, end + 2


def _fields(buf: bytes, pos: int) -> tuple[list[tuple[bytes, bytes]], int]:
    headers: list[tuple[bytes, bytes]] = []
    while True:
        line, pos = _line(buf, pos)
        if not line:
            return headers, pos
        if line[:1] in (b" ", b"\t"):
            raise Invalid("obs-fold")
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN_RE.fullmatch(name):
            raise Invalid(f"bad field name {name!r}")
        value = value.strip(b" \t")
        if not _FIELD_VALUE.fullmatch(value):
            raise Invalid(f"bad field value {value!r}")
        headers.append((name, value))


def _values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [v for n, v in headers if n.lower() == name]


def parse_request(buf: bytes, pos: int = 0) -> tuple[_Parsed, int]:
    """One request from `buf` at `pos` → (request, end). Raises Incomplete or Invalid."""
    while buf.startswith(b"\r\n", pos):  # RFC 9112 2.2: empty lines before a request line may be ignored
        pos += 2
    line, pos = _line(buf, pos)
    match = _REQUEST_LINE.fullmatch(line)
    if match is None:
        raise Invalid(f"bad request line {line[:80]!r}")
    request = _Parsed(match.group(1), match.group(2), int(match.group(3)))
    request.headers, pos = _fields(buf, pos)
    hosts = _values(request.headers, b"host")
    if request.version == 1 and len(hosts) != 1:
        raise Invalid("HTTP/1.1 needs exactly one Host")
    encodings = _values(request.headers, b"transfer-encoding")
    lengths = [t.strip(b" \t") for v in _values(request.headers, b"content-length") for t in v.split(b",")]
    if encodings:
        if lengths or request.version == 0:
            raise Invalid("Transfer-Encoding with Content-Length, or in HTTP/1.0")
        if [t.strip(b" \t").lower() for v in encodings for t in v.split(b",")] != [b"chunked"]:
            raise Invalid("transfer coding other than chunked")
        return _chunked(buf, pos, request)
    if lengths:
        if len(set(lengths)) != 1 or not lengths[0].isdigit() or int(lengths[0]) > 1 << 40:
            raise Invalid("bad or differing Content-Length")
        size = int(lengths[0])
        if len(buf) - pos < size:
            raise Incomplete
        request.body = buf[pos : pos + size]
        pos += size
    return request, pos


def _chunked(buf: bytes, pos: int, request: _Parsed) -> tuple[_Parsed, int]:
    body = []
    while True:
        line, pos = _line(buf, pos)
        match = _CHUNK_LINE.fullmatch(line)
        if match is None:
            raise Invalid(f"bad chunk line {line[:40]!r}")
        size = int(match.group(1), 16)
        if size == 0:
            request.trailers, pos = _fields(buf, pos)
            request.body = b"".join(body)
            return request, pos
        if len(buf) - pos < size + 2:
            raise Incomplete
        if buf[pos + size : pos + size + 2] != b"\r\n":
            raise Invalid("chunk data not followed by CRLF")
        body.append(buf[pos : pos + size])
        pos += size + 2


class _Conn(asyncio.Protocol):
    def __init__(self, backend: StrictBackend, number: int) -> None:
        self.backend = backend
        self.number = number
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.backend.connections += 1
        self.backend.open.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.backend.open.discard(self)

    def data_received(self, data: bytes) -> None:
        self.backend.bytes_received += len(data)
        self.buf += data
        while self.buf and self.transport is not None and not self.transport.is_closing():
            try:
                request, end = parse_request(self.buf)
            except Incomplete:
                return
            except Invalid as exc:
                found = _XFF.search(self.buf)
                xff = found.group(1).rsplit(b",", 1)[-1].strip().decode("latin-1") if found else None
                self.backend.errors.append(BackendError(self.number, str(exc), xff))
                self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                self.transport.close()
                return
            self.buf = self.buf[end:]
            self._answer(request)

    def _answer(self, request: _Parsed) -> None:
        assert self.transport is not None
        backend = self.backend
        seq = len(backend.requests) + 1
        xffs = _values(request.headers, b"x-forwarded-for")
        xff = xffs[-1].rsplit(b",", 1)[-1].strip().decode("latin-1") if xffs else None
        backend.requests.append(
            Recorded(
                seq, self.number, request.method, request.target, request.headers, request.body, xff, request.trailers
            )
        )
        tokens = {t.strip().lower() for v in _values(request.headers, b"connection") for t in v.split(b",")}
        close = b"close" in tokens or (request.version == 0 and b"keep-alive" not in tokens)
        body = b"request %d: %b %b\n" % (seq, request.method, request.target)
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nX-Seq: %d\r\n%b\r\n%b"
            % (len(body), seq, b"Connection: close\r\n" if close else b"", body)
        )
        if close:
            self.transport.close()


class StrictBackend:
    """The strict recording origin server on 127.0.0.1 (ephemeral port)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.errors: list[BackendError] = []
        self.connections = 0
        self.open: set[_Conn] = set()
        self.bytes_received = 0
        self.port = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        counter = iter(range(1, 1 << 30))
        self._server = await loop.create_server(lambda: _Conn(self, next(counter)), "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for conn in list(self.open):
                if conn.transport is not None:
                    conn.transport.abort()
            await self._server.wait_closed()
