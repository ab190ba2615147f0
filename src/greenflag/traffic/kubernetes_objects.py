"""Gateway API HTTPRoutes and Services as data (pure): the weights an HTTPRoute's rules give greenflag's backends,
the rules with new weights, whether the route's gateways have accepted its current generation, and a Service's
selector.

- A *managed* rule is one with a backendRef to one of greenflag's Services; greenflag writes the same weights into
  every managed rule, naming every one of its Services (a Service the rule lacks is added with the port of the
  rule's first managed backendRef; any other backendRef of a managed rule gets 0: nothing keeps traffic by
  omission). Rules without greenflag's Services are left as they are.
- A backendRef without `weight` has the Gateway API's default, 1. Weights are 0-1,000,000.
- The route's status is *current* when every parent's `Accepted` condition has observed the route's
  `metadata.generation`; it is *accepted* when every parent says `Accepted` and `ResolvedRefs` are True.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_ROUTE_WEIGHT",
    "NO_BACKEND_VALUE",
    "RouteStatus",
    "route_services",
    "route_status",
    "route_weights",
    "with_route_weights",
]
__pure__ = True

MAX_ROUTE_WEIGHT = 1_000_000  # the Gateway API's bound on a backendRef weight
NO_BACKEND_VALUE = "greenflag-no-backend"  # the selector value of a Service that sends traffic nowhere


def _is_service(ref: Mapping[str, Any], namespace: str) -> bool:
    return ref.get("group", "") in ("", "core") and ref.get("kind", "Service") == "Service" and ref.get(
        "namespace", namespace) == namespace  # fmt: skip


def _rules(route: Mapping[str, Any]) -> list[dict[str, Any]]:
    rules = (route.get("spec") or {}).get("rules") or []
    return [r for r in rules if isinstance(r, dict)]


def _namespace(route: Mapping[str, Any]) -> str:
    return str((route.get("metadata") or {}).get("namespace", ""))


def route_services(route: Mapping[str, Any]) -> list[str]:
    """Every Service (of the route's namespace) its rules send traffic to, in order of appearance."""
    out: list[str] = []
    for rule in _rules(route):
        for ref in rule.get("backendRefs") or []:
            if _is_service(ref, _namespace(route)) and ref.get("name") not in out:
                out.append(str(ref.get("name")))
    return out


def route_weights(route: Mapping[str, Any], services: list[str]) -> dict[str, int] | None:
    """Service → weight in the managed rules; None when the managed rules disagree or there is none."""
    seen: list[dict[str, int]] = []
    for rule in _rules(route):
        refs = [r for r in rule.get("backendRefs") or [] if _is_service(r, _namespace(route))]
        if not any(r.get("name") in services for r in refs):
            continue
        weights = dict.fromkeys(services, 0)
        for ref in rule.get("backendRefs") or []:
            name = str(ref.get("name"))
            weight = int(ref.get("weight", 1) if ref.get("weight") is not None else 1)
            if name in services and ref in refs:
                weights[name] += weight
            elif weight:  # anything else this rule still sends traffic to shows under its name
                weights[name] = weights.get(name, 0) + weight
        seen.append(weights)
    if not seen or any(w != seen[0] for w in seen[1:]):
        return None
    return seen[0]


def with_route_weights(route: Mapping[str, Any], weights: Mapping[str, int]) -> list[dict[str, Any]]:
    """The route's rules with every managed rule forwarding by `weights` (Service → weight)."""
    for name, weight in weights.items():
        if not 0 <= weight <= MAX_ROUTE_WEIGHT:
            raise ValueError(f"{name}: an HTTPRoute weight is 0-{MAX_ROUTE_WEIGHT}, not {weight}")
    namespace = _namespace(route)
    rules = copy.deepcopy(_rules(route))
    managed = 0
    for rule in rules:
        refs: list[dict[str, Any]] = list(rule.get("backendRefs") or [])
        ours = [r for r in refs if _is_service(r, namespace) and r.get("name") in weights]
        if not ours:
            continue
        managed += 1
        for ref in refs:
            ref["weight"] = int(weights.get(str(ref.get("name")), 0)) if _is_service(ref, namespace) else 0
        present = {str(r.get("name")) for r in ours}
        for name in weights:
            if name not in present:
                added: dict[str, Any] = {"group": "", "kind": "Service", "name": name, "weight": int(weights[name])}
                if "port" in ours[0]:
                    added["port"] = ours[0]["port"]
                refs.append(added)
        rule["backendRefs"] = refs
    if managed == 0:
        raise ValueError(f"no rule of the HTTPRoute sends traffic to {', '.join(weights)}")
    return rules


@dataclass(frozen=True)
class RouteStatus:
    current: bool  # every parent has observed the route's generation
    accepted: bool  # ... and accepted it with resolved references
    problems: tuple[str, ...] = field(default_factory=tuple)  # "gateway shop/web: ResolvedRefs False (…)"
    parents: tuple[str, ...] = field(default_factory=tuple)


def route_status(route: Mapping[str, Any]) -> RouteStatus:
    generation = int((route.get("metadata") or {}).get("generation") or 0)
    parents = ((route.get("status") or {}).get("parents")) or []
    names, problems, current = [], [], bool(parents)
    for parent in parents:
        ref = parent.get("parentRef") or {}
        label = f"{ref.get('kind', 'Gateway').lower()} {ref.get('namespace', _namespace(route))}/{ref.get('name')}"
        names.append(label)
        conditions = {c.get("type"): c for c in parent.get("conditions") or [] if isinstance(c, dict)}
        accepted = conditions.get("Accepted")
        if accepted is None or int(accepted.get("observedGeneration") or 0) < generation:
            current = False
            continue
        for kind in ("Accepted", "ResolvedRefs"):
            condition = conditions.get(kind)
            if condition is None or condition.get("status") != "True":
                why = "missing" if condition is None else f"{condition.get('status')} ({condition.get('reason')}"
                why += "" if condition is None else f": {condition.get('message', '')})"
                problems.append(f"{label}: {kind} {why}")
    return RouteStatus(current, current and not problems, tuple(problems), tuple(names))
