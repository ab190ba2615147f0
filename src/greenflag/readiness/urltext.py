"""URL text helpers for the pure readiness modules (which import no networking package): percent-encoding as
`encodeURIComponent`/`quote(safe="")` does it, percent-decoding, and the host of an absolute URL."""

from __future__ import annotations

import re

__all__ = ["host_of", "path_of", "percent_decode", "percent_encode", "scheme_of"]

__pure__ = True

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)")
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)")


def percent_encode(text: str) -> str:
    """Every UTF-8 byte except letters, digits and -._~ as %XX (upper-case hex)."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def percent_decode(text: str) -> str:
    """%XX sequences back to bytes, read as UTF-8 (invalid sequences replaced)."""
    return _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8")).decode("utf-8", "replace")


def host_of(url: str) -> str:
    """The lower-cased host of an absolute URL ('' if there is none); IPv6 without brackets."""
    match = _AUTHORITY.match(url.strip())
    return match.group(1).strip("[]").lower() if match else ""


def path_of(url: str) -> str:
    """The path of an absolute URL, without query or fragment ('' if it has none)."""
    match = _PATH.match(url.strip())
    return match.group(1) if match else ""


def scheme_of(url: str) -> str:
    head, sep, _ = url.partition(":")
    return head.lower() if sep else ""
