"""The router's request checks and header rewriting (pure)."""

from __future__ import annotations

import pytest

from greenflag.traffic.embedded.http1 import BadRequest, check_request, chunk, request_head, response_head


def H(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in pairs]


@pytest.mark.parametrize(
    ("method", "url", "headers", "status"),
    [
        (b"CONNECT", b"x:443", H(("Host", "x")), 400),
        (b"GET", b"http://evil/", H(("Host", "x")), 400),
        (b"GET", b"*", H(), 400),
        (b"POST", b"/", H(("Content-Length", "1"), ("Transfer-Encoding", "chunked")), 400),
        (b"POST", b"/", H(("Content-Length", "1"), ("Content-Length", "1")), 400),
        (b"POST", b"/", H(("Content-Length", "+1")), 400),
        (b"POST", b"/", H(("Transfer-Encoding", "gzip, chunked")), 400),
        (b"GET", b"/", H(("Host", "a"), ("Host", "b")), 400),
        (b"GET", b"/", H(("Connection", "upgrade"), ("Upgrade", "websocket")), 400),
    ],
)
def test_check_request_refuses(method: bytes, url: bytes, headers: list[tuple[bytes, bytes]], status: int) -> None:
    with pytest.raises(BadRequest) as info:
        check_request(method, url, headers, b"x-greenflag-route")
    assert info.value.status == status


def test_check_request_gathers_facts() -> None:
    facts = check_request(
        b"POST", b"/a", H(("Host", "h"), ("Content-Length", "12"), ("Cookie", "a=1"), ("Cookie", "b=2"),
                          ("X-Greenflag-Route", " green ")), b"x-greenflag-route"
    )  # fmt: skip
    assert (facts.host, facts.content_length, facts.chunked) == (b"h", 12, False)
    assert facts.cookie == "a=1; b=2" and facts.route_value == "green"


def test_request_head_rewrites_hop_by_hop_and_forwarded() -> None:
    headers = H(("Host", "h"), ("Connection", "keep-alive, X-Drop"), ("X-Drop", "1"), ("TE", "trailers"),
                ("X-Forwarded-For", "10.0.0.1"), ("Accept", "*/*"), ("Transfer-Encoding", "chunked"))  # fmt: skip
    facts = check_request(b"POST", b"/p?q=1", headers, b"x-greenflag-route")
    head = request_head(b"POST", b"/p?q=1", headers, facts, b"127.0.0.9").decode()
    assert head.startswith("POST /p?q=1 HTTP/1.1\r\n")
    assert "X-Drop" not in head and "TE:" not in head and "Connection" not in head
    assert "X-Forwarded-For: 10.0.0.1, 127.0.0.9\r\n" in head
    assert "X-Forwarded-Proto: http\r\n" in head and "X-Forwarded-Host: h\r\n" in head
    assert head.count("Transfer-Encoding: chunked") == 1 and head.endswith("\r\n\r\n")


def test_response_head_framing() -> None:
    head = response_head(
        200, b"OK", H(("Content-Type", "text/plain"), ("Keep-Alive", "x")), chunked_out=True, close=True
    )
    assert (
        head
        == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    assert chunk(b"hello") == b"5\r\nhello\r\n"


def test_host_only_request_takes_the_short_path_with_the_same_facts() -> None:
    short = check_request(b"GET", b"/", H(("Host", "h")), b"x-greenflag-route")
    assert short == check_request(b"GET", b"/", H(("Host", "h"), ("Accept", "*/*")), b"x-greenflag-route")
    assert (short.host, short.chunked, short.content_length, short.cookie, short.route_value) == (
        b"h",
        False,
        None,
        None,
        None,
    )
    assert short.connection == frozenset() and not short.expect_continue
    with pytest.raises(BadRequest):  # two Hosts never take the short path
        check_request(b"GET", b"/", H(("Host", "a"), ("host", "b")), b"x-greenflag-route")


@pytest.mark.parametrize("connection", ["keep-alive", "Keep-Alive", "close"])
def test_response_head_drops_a_plain_connection_header(connection: str) -> None:
    head = response_head(200, b"OK", H(("Connection", connection), ("ETag", "1")), chunked_out=False, close=False)
    assert head == b"HTTP/1.1 200 OK\r\nETag: 1\r\n\r\n"


def test_response_head_drops_headers_the_backend_names_as_hop_by_hop() -> None:
    headers = H(("Connection", "keep-alive, X-Internal"), ("X-Internal", "secret"), ("ETag", "1"))
    head = response_head(200, b"OK", headers, chunked_out=False, close=False)
    assert head == b"HTTP/1.1 200 OK\r\nETag: 1\r\n\r\n"
