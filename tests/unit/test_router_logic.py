"""Pure parts of the embedded router: route table, sticky cookie, states, request checks, header rewriting, stats."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenflag.traffic.embedded.http1 import BadRequest, check_request, chunk, request_head, response_head
from greenflag.traffic.embedded.routing import (
    RouteTable,
    backend_state,
    normalise_weights,
    sticky_cookie_value,
    validate_weights,
)
from greenflag.traffic.embedded.stats import StatsStore


def test_pick_follows_cumulative_weights() -> None:
    table = RouteTable.build({"blue": 75, "green": 25})
    assert table.pick(0.0) == "blue"
    assert table.pick(0.7499) == "blue"
    assert table.pick(0.75) == "green"
    assert table.pick(0.9999) == "green"


@given(st.dictionaries(st.sampled_from("abcde"), st.integers(0, 1000), min_size=1), st.floats(0, 0.999999))
def test_pick_only_returns_weighted_backends(weights: dict[str, int], u: float) -> None:
    name = RouteTable.build(weights).pick(u)
    if sum(weights.values()) == 0:
        assert name is None
    else:
        assert name is not None and weights[name] > 0


def test_down_backends_are_skipped_unless_all_are_down() -> None:
    assert {RouteTable.build({"a": 50, "b": 50}, down=["a"]).pick(u / 10) for u in range(10)} == {"b"}
    assert RouteTable.build({"a": 50}, down=["a"]).pick(0.5) == "a"
    assert RouteTable.build({"a": 50, "b": 50}).pick(0.1, exclude="a") == "b"
    assert RouteTable.build({"a": 50, "b": 0}).pick(0.1, exclude="a") is None


def test_choose_header_route_sticky_then_weights() -> None:
    table = RouteTable.build({"blue": 100, "green": 0})
    names = {"blue", "green"}
    assert table.choose(0.5, "green", None, names) == "green"  # test traffic regardless of weight
    assert table.choose(0.5, "purple", None, names) == "blue"  # unknown names fall back to weights
    assert table.choose(0.5, None, "green", names) == "blue"  # sticky only while the backend has weight
    assert RouteTable.build({"blue": 1, "green": 1}).choose(0.1, None, "green", names) == "green"
    pinned = RouteTable.build({"blue": 100, "green": 0}, header_route="green")
    assert pinned.choose(0.5, "anything", None, names) == "green"
    assert pinned.choose(0.5, None, None, names) == "blue"


def test_weights_validation_and_states() -> None:
    assert validate_weights({"a": 3}, ["a", "b"]) == {"a": 3}
    for bad in ({"c": 1}, {"a": -1}, {"a": 1.5}, {"a": True}, {"a": "1"}):
        with pytest.raises(ValueError):
            validate_weights(bad, ["a", "b"])
    assert normalise_weights({"a": 1, "b": 3}) == {"a": 0.25, "b": 0.75}
    assert normalise_weights({"a": 0}) == {"a": 0.0}
    assert backend_state(10, 5, False) == "active"
    assert backend_state(0, 5, False) == "draining"
    assert backend_state(0, 0, False) == "drained"
    assert backend_state(10, 0, True) == "down"


def test_sticky_cookie_value() -> None:
    assert sticky_cookie_value("a=1; greenflag_backend=green; b=2") == "green"
    assert sticky_cookie_value("greenflag_backend=") is None
    assert sticky_cookie_value(None) is None


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


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_stats_windows_fold_and_expire() -> None:
    clock = Clock()
    store = StatsStore(clock)
    for i in range(100):
        store.record("blue", 200, 1000 + i)  # 1.000..1.099 ms
    store.record("blue", 503, 5000)
    store.record("blue", 0, 7000)  # transport error
    clock.t += 1
    store.record("blue", 404, 2000)
    w = store.windows(["blue", "green"], 10)
    blue = w["blue"]
    assert blue.requests == 103
    assert blue.responses == {"2xx": 100, "4xx": 1, "5xx": 1}
    assert blue.transport_errors == 1 and blue.errors == 2
    assert sum(c for _, c in blue.latency_buckets) == 103
    assert blue.p50_ms is not None and 1.04 <= blue.p50_ms <= 1.06
    assert w["green"].requests == 0 and w["green"].p50_ms is None
    assert store.windows(["blue"], 1)["blue"].requests == 1  # only the newest second
    clock.t += 400  # beyond the 5 min kept
    store.record("blue", 200, 1)
    assert store.windows(["blue"], 300)["blue"].requests == 1


def test_bucket_upper_bounds_are_hdr_highest_equivalent_values() -> None:
    from greenflag.hdr import bucket_upper, counts_index

    values = np.array([0, 1, 2047, 2048, 2049, 3000, 123456, 10**9], dtype=np.int64)
    upper = bucket_upper(counts_index(values))
    assert all(u >= v for u, v in zip(upper.tolist(), values.tolist(), strict=True))
    assert all((u - v) <= max(1, v // 1000) for u, v in zip(upper.tolist(), values.tolist(), strict=True))
