"""The router's route table, sticky cookie, weights and backend states (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenflag.traffic.embedded.routing import (
    RouteTable,
    backend_state,
    normalise_weights,
    sticky_cookie_value,
    validate_weights,
)


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


def test_exact_routing_for_tagged_analysis_traffic_even_while_pinned() -> None:
    names = ["blue", "green"]
    pinned = RouteTable.build({"blue": 100, "green": 0}, header_route="green")
    assert pinned.choose(0.5, "blue", None, names) == "green"  # users' test traffic: the pin wins
    assert pinned.choose(0.5, "blue", None, names, exact=True) == "blue"  # analysis traffic: the backend it names
    assert pinned.choose(0.5, "purple", None, names, exact=True) == "green"  # no such backend: as any request
    assert RouteTable.build({"blue": 100}).choose(0.5, None, None, names, exact=True) == "blue"
