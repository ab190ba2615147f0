"""HTTP/1.1 pieces of the proxy that are pure functions of bytes: request checks, header rewriting, heads.

The proxy (client.py/upstream.py) calls these from httptools callbacks; they never touch sockets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "FRAMING",
    "HOP_BY_HOP",
    "BadRequest",
    "Limits",
    "RequestFacts",
    "check_request",
    "chunk",
    "error_response",
    "request_head",
    "response_head",
]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authorization",
        b"proxy-authenticate",
    }
)
_FORWARDED = frozenset({b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"})
# Never hop-by-hop, whatever `Connection` names: the message's framing and its Host.
FRAMING = frozenset({b"content-length", b"transfer-encoding", b"host"})
# Headers the router interprets or sets. A name that differs from one of these only by `_` or `.` instead of `-`
# (`Transfer_Encoding`) is refused: CGI-style servers (WSGI, PHP, Apache's CGI variables) map both to the same
# HTTP_TRANSFER_ENCODING, so the backend could frame, route or trust the request differently from the router.
_GUARDED = HOP_BY_HOP | _FORWARDED | FRAMING
_GUARDED_LENGTHS = frozenset(len(n) for n in _GUARDED)
# Lengths of the names above: most headers are passed on without even lower-casing their name.
_HOP_LENGTHS = frozenset(len(n) for n in HOP_BY_HOP)
_SPECIAL_LENGTHS = frozenset(len(n) for n in HOP_BY_HOP | _FORWARDED)
_SPECIAL_LENGTHS_CL = _SPECIAL_LENGTHS | {len(b"content-length")}  # the router re-emits Content-Length itself
_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 413: b"Content Too Large", 414: b"URI Too Long",
            431: b"Request Header Fields Too Large", 502: b"Bad Gateway", 503: b"Service Unavailable",
            504: b"Gateway Timeout", 505: b"HTTP Version Not Supported"}  # fmt: skip


class BadRequest(Exception):
    """A request the router refuses; `status` is sent back and the connection is closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    max_header_bytes: int = 16 * 1024  # request line + all headers
    max_headers: int = 100
    max_url_bytes: int = 8 * 1024
    max_pipelined: int = 8
    max_body_bytes: int = 0  # request body (Content-Length, or the sum of the chunks); 0: no limit


class RequestFacts(NamedTuple):
    """What the router needs from a request's headers, gathered while checking them."""

    host: bytes
    chunked: bool
    content_length: int | None
    cookie: str | None
    route_value: str | None
    expect_continue: bool
    connection: frozenset[bytes] = frozenset()  # tokens of the Connection header(s), lower case
    synthetic: bytes | None = None  # the X-Greenflag-Synthetic value (the core checks it against its key)


SYNTHETIC = b"x-greenflag-synthetic"  # greenflag's analysis traffic (traffic.base.SYNTHETIC_HEADER)
_WANTED = (
    b"content-length", b"transfer-encoding", b"host", b"cookie", b"expect", b"upgrade", b"connection", SYNTHETIC,
)  # fmt: skip
_WANTED_LENGTHS = frozenset(len(w) for w in _WANTED)
_EMPTY: frozenset[bytes] = frozenset()


def _gather(headers: list[tuple[bytes, bytes]], route_header: bytes) -> dict[bytes, list[bytes]]:
    """The headers the checks need, by lower-case name (all values kept, in order)."""
    route_length = len(route_header)
    seen: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        length = len(name)
        if length not in _WANTED_LENGTHS and length != route_length:
            if length in _GUARDED_LENGTHS and (b"_" in name or b"." in name):
                _refuse_lookalike(name, route_header)
            continue
        lname = name.lower()
        if lname in _WANTED or lname == route_header:
            if lname in seen:
                seen[lname].append(value.strip())
            else:
                seen[lname] = [value.strip()]
        elif b"_" in lname or b"." in lname:
            _refuse_lookalike(name, route_header)
    return seen


def _refuse_lookalike(name: bytes, route_header: bytes) -> None:
    dashed = name.lower().replace(b"_", b"-").replace(b".", b"-")
    if dashed in _GUARDED or dashed == route_header:
        raise BadRequest(400, f"header name {name.decode('latin-1')!r} looks like {dashed.decode('latin-1')!r}")


def check_request(
    method: bytes, url: bytes, headers: list[tuple[bytes, bytes]], route_header: bytes, version: str = "1.1",
    max_body: int = 0,
) -> RequestFacts:
    """Refuse what a reverse proxy must not pass on (open-proxy use, smuggling ambiguity, a Content-Length over
    `max_body` when not 0); gather the facts."""
    if version != "1.1" and version != "1.0":
        if version.startswith("0."):
            raise BadRequest(400, "HTTP/0.9 requests are not supported")
        raise BadRequest(505, f"HTTP/{version} is not supported over this connection: use HTTP/1.1")
    if method == b"CONNECT":
        raise BadRequest(400, "CONNECT is not supported: this is a reverse proxy")
    if not url.startswith(b"/"):
        raise BadRequest(400, "only origin-form request targets (/path) are accepted")
    seen = _gather(headers, route_header)
    hosts = seen.get(b"host")
    if len(seen) == 1 and hosts is not None and len(hosts) == 1:  # the common case: a Host header, nothing else
        return RequestFacts(hosts[0], False, None, None, None, False)
    if hosts is not None and len(hosts) > 1:
        raise BadRequest(400, "more than one Host header")
    if hosts is None and version == "1.1":
        raise BadRequest(400, "HTTP/1.1 request without a Host header")
    chunked, length = _framing(seen, version, max_body)
    connection = _tokens(seen.get(b"connection", []))
    if b"upgrade" in seen and b"upgrade" in connection:
        raise BadRequest(400, "protocol upgrades (WebSocket, h2c) are not supported")
    cookies = seen.get(b"cookie")
    routes = seen.get(route_header)
    synthetic = seen.get(SYNTHETIC)
    return RequestFacts(
        host=seen.get(b"host", [b""])[0],
        chunked=chunked,
        content_length=length,
        cookie=b"; ".join(cookies).decode("latin-1") if cookies else None,
        route_value=routes[0].decode("latin-1") if routes else None,
        expect_continue=any(v.lower() == b"100-continue" for v in seen.get(b"expect", [])),
        connection=connection - FRAMING if connection else connection,
        synthetic=synthetic[0] if synthetic else None,
    )


def _framing(seen: dict[bytes, list[bytes]], version: str, max_body: int) -> tuple[bool, int | None]:
    """(chunked, Content-Length) when the body's framing is unambiguous; BadRequest otherwise."""
    lengths = seen.get(b"content-length", [])
    encodings = [v.lower() for v in seen.get(b"transfer-encoding", [])]
    if encodings and lengths:
        raise BadRequest(400, "both Content-Length and Transfer-Encoding")
    if len(encodings) > 1 or (encodings and encodings[0] != b"chunked"):
        raise BadRequest(400, "only Transfer-Encoding: chunked is accepted")
    if encodings and version == "1.0":
        raise BadRequest(400, "Transfer-Encoding in an HTTP/1.0 request")
    if len(lengths) > 1:
        raise BadRequest(400, "repeated Content-Length")
    if not lengths:
        return bool(encodings), None
    if not lengths[0].isdigit() or len(lengths[0]) > 15:
        raise BadRequest(400, "invalid Content-Length")
    length = int(lengths[0])
    if max_body and length > max_body:
        raise BadRequest(413, f"request body larger than {max_body} bytes")
    return False, length


def _tokens(values: list[bytes]) -> frozenset[bytes]:
    if not values:
        return _EMPTY
    return frozenset(t.strip().lower() for value in values for t in value.split(b","))


def request_head(
    method: bytes, url: bytes, headers: list[tuple[bytes, bytes]], facts: RequestFacts, client_ip: bytes
) -> bytes:
    """The request head sent upstream: HTTP/1.1, keep-alive, hop-by-hop removed, X-Forwarded-* set, and framing
    (Content-Length or Transfer-Encoding) written by the router from what it parsed, never copied."""
    drop = facts.connection
    special = _SPECIAL_LENGTHS if facts.content_length is None else _SPECIAL_LENGTHS_CL
    out = [method, b" ", url, b" HTTP/1.1\r\n"]
    forwarded_for = b""
    for name, value in headers:
        if not drop and len(name) not in special:
            out += (name, b": ", value, b"\r\n")
            continue
        lname = name.lower()
        if lname in HOP_BY_HOP or lname in drop or lname in _FORWARDED or lname == b"content-length":
            if lname == b"x-forwarded-for":
                forwarded_for = value + b", " if not forwarded_for else forwarded_for + value + b", "
            continue
        out += (name, b": ", value, b"\r\n")
    out += (b"X-Forwarded-For: ", forwarded_for, client_ip, b"\r\nX-Forwarded-Proto: http\r\n")
    if facts.host:
        out += (b"X-Forwarded-Host: ", facts.host, b"\r\n")
    elif not any(n.lower() == b"host" for n, _ in headers):  # an HTTP/1.0 client sent none: HTTP/1.1 needs one
        out.append(b"Host: \r\n")
    if facts.chunked:
        out.append(b"Transfer-Encoding: chunked\r\n")
    elif facts.content_length is not None:
        out.append(b"Content-Length: %d\r\n" % facts.content_length)
    out.append(b"\r\n")
    return b"".join(out)


def response_head(
    status: int,
    reason: bytes,
    headers: list[tuple[bytes, bytes]],
    *,
    chunked_out: bool,
    close: bool,
    extra: bytes = b"",
) -> bytes:
    """The response head sent to the client: hop-by-hop removed, framing and Connection decided by the proxy."""
    out = [b"HTTP/1.1 ", str(status).encode(), b" ", reason or b"-", b"\r\n"]
    connection: list[bytes] = []
    for name, value in headers:
        if len(name) not in _HOP_LENGTHS:
            out += (name, b": ", value, b"\r\n")
            continue
        lname = name.lower()
        if lname in HOP_BY_HOP:
            if lname == b"connection":
                connection.append(value)
            continue
        out += (name, b": ", value, b"\r\n")
    drop = _tokens(connection) - _KEEP_IN_RESPONSE if connection and not _plain(connection) else None
    if drop:  # rare: the backend named more hop-by-hop headers; filter again (Connection too: no recursion)
        drop |= {b"connection"}
        return response_head(
            status, reason, [(n, v) for n, v in headers if n.lower() not in drop],
            chunked_out=chunked_out, close=close, extra=extra,
        )  # fmt: skip
    if chunked_out:
        out.append(b"Transfer-Encoding: chunked\r\n")
    if close:
        out.append(b"Connection: close\r\n")
    out += (extra, b"\r\n")
    return b"".join(out)


_KEEP_IN_RESPONSE = frozenset({b"close", b"keep-alive"}) | FRAMING  # never dropped because Connection names them
_PLAIN_CONNECTION = frozenset({b"close", b"keep-alive", b"Close", b"Keep-Alive"})


def _plain(connection: list[bytes]) -> bool:
    """`Connection: keep-alive` or `close` alone (what servers send): no other header named as hop-by-hop."""
    return len(connection) == 1 and connection[0] in _PLAIN_CONNECTION


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def error_response(status: int, message: str) -> bytes:
    """A small plain-text response generated by the router itself; always closes the connection."""
    body = (message + "\n").encode()
    reason = _REASONS.get(status, b"Error")
    return (
        b"HTTP/1.1 %d %b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
        b"Connection: close\r\nX-Greenflag-Router: error\r\n\r\n%b" % (status, reason, len(body), body)
    )
