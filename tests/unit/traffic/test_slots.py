"""Slot assignment and complete weights: versions land on free slots, never on one that carries traffic, and
every change names every backend."""

from __future__ import annotations

import pytest

from greenflag.traffic.slots import SlotError, assign, complete_weights, url_address

SLOTS = {"blue": "127.0.0.1:9001", "green": "127.0.0.1:9002"}


@pytest.mark.parametrize(
    ("backends", "draining", "expected"),
    [
        ({"v1": "127.0.0.1:9001"}, (), {"v1": "blue"}),  # found where it runs
        ({"v1": "127.0.0.1:9002"}, (), {"v1": "green"}),
        ({"v1": "127.0.0.1:9001", "v2": "127.0.0.1:7000"}, (), {"v1": "blue", "v2": "green"}),
        ({"v2": "127.0.0.1:7000", "v1": "127.0.0.1:9001"}, (), {"v2": "green", "v1": "blue"}),  # v1 keeps blue
        ({"green": "127.0.0.1:7000"}, (), {"green": "green"}),  # a slot's own name
        (
            {"blue": "127.0.0.1:9002", "green": "127.0.0.1:9001"},
            (),
            {"blue": "green", "green": "blue"},
        ),  # address first
        ({"v3": "127.0.0.1:7000"}, ("blue",), {"v3": "green"}),  # a draining slot is reused last
        ({"v3": "127.0.0.1:7000", "v4": "127.0.0.1:7001"}, ("blue",), {"v3": "green", "v4": "blue"}),
        ({}, (), {}),
    ],
)
def test_assign(backends: dict[str, str], draining: tuple[str, ...], expected: dict[str, str]) -> None:
    assert assign(SLOTS, backends, draining=draining) == expected


def test_more_backends_than_slots_is_refused_naming_both() -> None:
    with pytest.raises(SlotError, match=r"3 backends \(a, b, c\) but only 2 slots \(blue, green\)"):
        assign(SLOTS, {"a": "h:1", "b": "h:2", "c": "h:3"})


def test_complete_weights_gives_every_backend_a_weight() -> None:
    assert complete_weights(["blue", "green"], {"blue": 100}) == {"blue": 100, "green": 0}
    assert complete_weights(["blue", "green"], {}) == {"blue": 0, "green": 0}
    with pytest.raises(SlotError, match="unknown backend 'red'"):
        complete_weights(["blue"], {"red": 1})
    for bad in (-1, 1.5, True, "10"):
        with pytest.raises(SlotError, match="non-negative integer"):
            complete_weights(["blue"], {"blue": bad})
    with pytest.raises(SlotError, match="at most 256"):
        complete_weights(["blue"], {"blue": 257}, maximum=256)
    assert complete_weights(["blue"], {"blue": 256}, maximum=256) == {"blue": 256}


@pytest.mark.parametrize(
    ("url", "address"),
    [("http://127.0.0.1:8080", "127.0.0.1:8080"), ("http://127.0.0.1:08080/", "127.0.0.1:8080"),
     ("http://[::1]:81", "[::1]:81"), ("http://app.internal:80", "app.internal:80")],
)  # fmt: skip
def test_url_address(url: str, address: str) -> None:
    assert url_address(url) == address


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1:1", "http://127.0.0.1", "http://127.0.0.1:0", "http://127.0.0.1:70000", "http://h:1/path",
     "http://a b:1", "http://h;x:1", "http://user@h:1", "127.0.0.1:80"],
)  # fmt: skip
def test_url_address_refuses_what_a_balancer_line_cannot_hold(url: str) -> None:
    with pytest.raises(SlotError):
        url_address(url)
