"""The router's request checks and header rewriting against smuggling: framing is never hop-by-hop, look-alike
header names, HTTP versions, Host, and framing written by the router itself."""

from __future__ import annotations

import pytest

from greenflag.traffic.embedded.http1 import BadRequest, check_request, request_head, response_head
from greenflag.units import parse_size

ROUTE = b"x-greenflag-route"


def H(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in pairs]


def refused(headers: list[tuple[bytes, bytes]], version: str = "1.1", method: bytes = b"POST") -> int:
    with pytest.raises(BadRequest) as info:
        check_request(method, b"/", headers, ROUTE, version)
    return info.value.status


@pytest.mark.parametrize(
    "name",
    ["Transfer_Encoding", "transfer_encoding", "Content_Length", "Content.Length", "X_Forwarded_For",
     "x_forwarded_host", "Keep_Alive", "Proxy_Connection", "X_Greenflag_Route"],
)  # fmt: skip
def test_look_alikes_of_headers_the_router_interprets_are_refused(name: str) -> None:
    """CGI-style servers read `Transfer_Encoding` as Transfer-Encoding: the backend would frame the request
    differently from the router (or trust an X-Forwarded-For the router did not write)."""
    assert refused(H(("Host", "h"), (name, "chunked"), ("Content-Length", "3"))) == 400
    assert refused(H((name, "1"), ("Host", "h"))) == 400  # wherever it is, also on the short path


def test_other_underscore_headers_pass() -> None:
    facts = check_request(b"GET", b"/", H(("Host", "h"), ("X_Request_Id", "7"), ("my_header", "x")), ROUTE)
    head = request_head(b"GET", b"/", H(("Host", "h"), ("X_Request_Id", "7")), facts, b"127.0.0.1")
    assert b"X_Request_Id: 7\r\n" in head


@pytest.mark.parametrize(("version", "status"), [("0.9", 400), ("2.0", 505), ("3.0", 505)])
def test_only_http_1_0_and_1_1(version: str, status: int) -> None:
    assert refused(H(("Host", "h")), version, b"GET") == status


def test_host_is_required_in_http_1_1_only() -> None:
    assert refused(H(("Accept", "*/*")), "1.1", b"GET") == 400
    assert refused(H(), "1.1", b"GET") == 400
    assert check_request(b"GET", b"/", H(("Accept", "*/*")), ROUTE, "1.0").host == b""


def test_transfer_encoding_in_http_1_0_is_refused() -> None:
    assert refused(H(("Host", "h"), ("Transfer-Encoding", "chunked")), "1.0") == 400


@pytest.mark.parametrize("named", ["Content-Length", "content-length, Host", "Host", "Transfer-Encoding, close"])
def test_framing_and_host_are_never_hop_by_hop_in_requests(named: str) -> None:
    sized = H(("Host", "h"), ("Connection", named), ("Content-Length", "43"), ("X-Other", "1"))
    facts = check_request(b"POST", b"/", sized, ROUTE)
    head = request_head(b"POST", b"/", sized, facts, b"127.0.0.1")
    assert b"\r\nContent-Length: 43\r\n" in head and b"\r\nHost: h\r\n" in head
    chunked = H(("Host", "h"), ("Connection", named), ("Transfer-Encoding", "chunked"))
    facts = check_request(b"POST", b"/", chunked, ROUTE)
    head = request_head(b"POST", b"/", chunked, facts, b"127.0.0.1")
    assert head.count(b"Transfer-Encoding: chunked\r\n") == 1 and b"\r\nHost: h\r\n" in head


def test_other_headers_named_in_connection_are_still_removed() -> None:
    headers = H(("Host", "h"), ("Connection", "Content-Length, X-Secret"), ("X-Secret", "1"), ("Content-Length", "2"))
    head = request_head(b"POST", b"/", headers, check_request(b"POST", b"/", headers, ROUTE), b"127.0.0.1")
    assert b"X-Secret" not in head and b"Content-Length: 2\r\n" in head


@pytest.mark.parametrize("value", ["043", "0000000000043", "43"])
def test_content_length_is_written_by_the_router(value: str) -> None:
    """The router forwards the length it parsed, not the client's spelling of it (`043` is octal to some)."""
    headers = H(("Host", "h"), ("content-length", value))
    head = request_head(b"POST", b"/", headers, check_request(b"POST", b"/", headers, ROUTE), b"127.0.0.1")
    assert head.lower().count(b"content-length") == 1 and b"\r\nContent-Length: 43\r\n" in head


@pytest.mark.parametrize("named", ["Content-Length", "keep-alive, content-length", "Host, X-Internal"])
def test_framing_is_never_dropped_from_responses(named: str) -> None:
    headers = H(("Content-Length", "5"), ("Connection", named), ("Host", "h"), ("X-Internal", "1"), ("ETag", "e"))
    head = response_head(200, b"OK", headers, chunked_out=False, close=False)
    assert b"\r\nContent-Length: 5\r\n" in head and b"ETag: e\r\n" in head and b"Connection" not in head
    assert (b"X-Internal" in head) == ("X-Internal" not in named)


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("1048576", 1 << 20), ("512k", 512 << 10), ("100m", 100 << 20), ("1G", 1 << 30), ("10MiB", 10 << 20),
     ("2 MB", 2 << 20), (4096, 4096)],
)  # fmt: skip
def test_parse_size(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "m", "-1", "1.5m", "10x", True, -5, None])
def test_parse_size_refuses(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_size(bad)
