"""What a request head is made of: the target URL (`parse_target`: validated, percent-encoded where
encoding can carry it, refused where it cannot) and the serialised HTTP/1.1 head (`build_request`), which never
comes out malformed: methods and header names are tokens, header values have no line breaks or NUL, the request
target is origin-form."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

__all__ = ["SAFE_TARGET", "Target", "build_request", "control_character", "encode_target", "parse_target"]

# what may appear as is in an origin-form request target (RFC 3986 pchar, "/" and "?", and %XX escapes)
_TARGET_CHARS = "A-Za-z0-9\\-._~!$&'()*+,;=:@/?"
SAFE_TARGET = re.compile(f"(?:[{_TARGET_CHARS}]|%[0-9A-Fa-f]{{2}})*")
_QUOTE_SAFE = "-._~!$&'()*+,;=:@/?%"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_HOST = re.compile(r"[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token: methods and header names


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path + query, at least "/"

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def host_header(self) -> str:
        default = 443 if self.tls else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host_header}"


def encode_target(text: str) -> str:
    """A path and query as a valid request target: spaces, non-ASCII text and other characters a URL may not
    carry as they are get percent-encoded (UTF-8), a `%` that starts no escape becomes %25, escapes stay."""
    if SAFE_TARGET.fullmatch(text):
        return text
    return quote(_LONE_PERCENT.sub("%25", text), safe=_QUOTE_SAFE)


def control_character(url: str) -> str | None:
    """Where `url` holds a control character (which no URL may carry), or None."""
    found = _CONTROL.search(url)
    return None if found is None else f"control character {found.group()!r} at position {found.start()}"


def parse_target(url: str) -> Target:
    """Validate an http(s) URL; raises ValueError saying what is expected. What percent-encoding can carry is
    encoded (spaces, non-ASCII, `"<>\\^`{|}` in the path and query; a non-ASCII host by IDNA); what it cannot
    is refused: control characters anywhere (a pasted line break, an injected header), a malformed host,
    credentials in the URL."""
    text = url.strip(" ")
    problem = control_character(text)
    if problem is not None:
        raise ValueError(f"{url!r}: {problem} (not allowed in a URL)")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
    if "@" in parts.netloc:
        raise ValueError(f"{url!r}: credentials in the URL are not sent; use --header 'Authorization: ...'")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"{url!r} has an invalid port") from None
    host = parts.hostname
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{url!r}: the host {parts.hostname!r} is not a valid domain name") from None
    bracketed = f"[{host}]" if ":" in host else host
    if not _HOST.fullmatch(bracketed):
        raise ValueError(f"{url!r}: the host {parts.hostname!r} is not a domain name or an IP address")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, encode_target(path))


def build_request(
    method: str, target: Target, path: str | None = None, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
) -> bytes:
    """Serialise an HTTP/1.1 request. Adds Host, Content-Length (when there is a body) and User-Agent. Raises
    ValueError for what would make a malformed request head: a method or header name that is not a token, a
    line break or NUL in a header value, a request target that is not origin-form (see `encode_target`)."""
    request_target = path or target.path
    if not _TOKEN.fullmatch(method):
        raise ValueError(f"method {method!r} is not an HTTP method (a token such as GET)")
    if not request_target.startswith("/") or not SAFE_TARGET.fullmatch(request_target):
        raise ValueError(f"request target {request_target!r} is not a path such as /api/items?page=2")
    lines = [f"{method} {request_target} HTTP/1.1", f"Host: {target.host_header}"]
    names = set()
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"header name {name!r} is not a token such as X-Request-Id")
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError(f"header {name!r} contains a line break or NUL")
        lines.append(f"{name}: {value}")
        names.add(name.lower())
    if "user-agent" not in names:
        lines.append("User-Agent: greenflag")
    framed = "content-length" in names or "transfer-encoding" in names
    if (body or method in ("POST", "PUT", "PATCH")) and not framed:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
