"""HTTPRoutes as data: which rules greenflag writes, what it keeps, and when the gateways have accepted a route."""

from __future__ import annotations

from typing import Any

import pytest

from greenflag.traffic.kubernetes_objects import route_services, route_status, route_weights, with_route_weights


def route(*rules: list[dict[str, Any]], generation: int = 2, parents: list[Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"namespace": "shop", "generation": generation},
            "spec": {"rules": [{"backendRefs": refs} for refs in rules]},
            "status": {"parents": parents or []}}  # fmt: skip


def condition(kind: str, status: str = "True", generation: int = 2, reason: str = "") -> dict[str, Any]:
    return {"type": kind, "status": status, "observedGeneration": generation, "reason": reason or kind}


def test_managed_rules_get_every_service_and_other_rules_are_left_alone() -> None:
    r = route(
        [{"name": "web-blue", "port": 80}],  # no weight: 1
        [{"name": "web-blue", "port": 80, "weight": 3}, {"name": "legacy", "port": 81, "weight": 1}],
        [{"name": "static", "port": 80}],  # not greenflag's
    )
    assert route_services(r) == ["web-blue", "legacy", "static"]
    assert route_weights(r, ["web-blue", "web-green"]) is None  # the two managed rules disagree
    rules = with_route_weights(r, {"web-blue": 90, "web-green": 10})
    added = {"group": "", "kind": "Service", "name": "web-green", "weight": 10, "port": 80}
    assert rules[0]["backendRefs"] == [{"name": "web-blue", "port": 80, "weight": 90}, added]
    assert rules[1]["backendRefs"][1] == {"name": "legacy", "port": 81, "weight": 0}  # nothing keeps it by omission
    assert rules[2] == {"backendRefs": [{"name": "static", "port": 80}]}
    after = {**r, "spec": {"rules": rules}}
    assert route_weights(after, ["web-blue", "web-green"]) == {"web-blue": 90, "web-green": 10}
    assert r["spec"]["rules"][0]["backendRefs"] == [{"name": "web-blue", "port": 80}]  # input unchanged


def test_a_route_without_our_services_or_a_weight_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="no rule of the HTTPRoute sends traffic to web-green"):
        with_route_weights(route([{"name": "other", "port": 80}]), {"web-green": 1})
    with pytest.raises(ValueError, match="0-1000000"):
        with_route_weights(route([{"name": "web-blue", "port": 80}]), {"web-blue": 1_000_001})


def test_another_namespace_or_kind_is_not_our_service() -> None:
    r = route([{"name": "web-blue", "port": 80, "namespace": "other"}, {"name": "web-blue", "kind": "Bucket",
                                                                       "group": "x.io"}])  # fmt: skip
    assert route_services(r) == []


def test_status_is_current_once_every_parent_observed_the_generation() -> None:
    ok = {"parentRef": {"name": "web"}, "conditions": [condition("Accepted"), condition("ResolvedRefs")]}
    stale = {"parentRef": {"name": "internal"}, "conditions": [condition("Accepted", generation=1)]}
    assert route_status(route(parents=[ok])).accepted
    assert not route_status(route(parents=[ok, stale])).current
    assert not route_status(route()).current  # no gateway has reported
    bad = {"parentRef": {"name": "web"}, "conditions": [condition("Accepted"),
           condition("ResolvedRefs", "False", reason="BackendNotFound")]}  # fmt: skip
    status = route_status(route(parents=[bad]))
    assert status.current and not status.accepted
    assert status.problems == ("gateway shop/web: ResolvedRefs False (BackendNotFound: )",)
