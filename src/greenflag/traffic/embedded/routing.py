"""Pure routing decisions of the embedded router: weighted choice, sticky cookie, header route, backend states.

No I/O and no clock here: the proxy feeds in facts (weights, which backends are down, in-flight counts) and a
uniform random number, and gets back a backend name. The table is rebuilt on every change and replaced as a
whole, so a weight change is atomic for every request that starts after it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "STICKY_COOKIE",
    "RouteTable",
    "backend_state",
    "normalise_weights",
    "sticky_cookie_value",
    "validate_weights",
]

STICKY_COOKIE = "greenflag_backend"


def validate_weights(weights: Mapping[str, object], known: Iterable[str]) -> dict[str, int]:
    """Check a weights object (name → non-negative integer, names configured). Raises ValueError naming the key."""
    names = set(known)
    out: dict[str, int] = {}
    for name, value in weights.items():
        if name not in names:
            raise ValueError(f"unknown backend {name!r}; configured: {', '.join(sorted(names)) or '(none)'}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"weight of {name!r} must be a non-negative integer, got {value!r}")
        out[name] = value
    return out


def normalise_weights(weights: Mapping[str, int]) -> dict[str, float]:
    """Weights as fractions of their sum (all zero when the sum is zero)."""
    total = sum(weights.values())
    return {name: (w / total if total else 0.0) for name, w in weights.items()}


def backend_state(weight: int, in_flight: int, down: bool) -> str:
    """`down` (failing connects), `active` (takes traffic), `draining` (weight 0, requests open), `drained`."""
    if down:
        return "down"
    if weight > 0:
        return "active"
    return "draining" if in_flight > 0 else "drained"


def sticky_cookie_value(cookie_header: str | None) -> str | None:
    """The backend named by the sticky cookie in a Cookie header, if any."""
    if not cookie_header:
        return None
    for part in cookie_header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == STICKY_COOKIE and value:
            return value
    return None


@dataclass(frozen=True)
class RouteTable:
    """An immutable snapshot: weights and down backends → cumulative table for O(log n) weighted choice."""

    weights: tuple[tuple[str, int], ...]
    down: frozenset[str] = frozenset()
    header_route: str | None = None  # when set, every request carrying the route header goes here

    @classmethod
    def build(cls, weights: Mapping[str, int], down: Iterable[str] = (), header_route: str | None = None) -> RouteTable:
        return cls(tuple(sorted(weights.items())), frozenset(down), header_route)

    def __post_init__(self) -> None:
        up = [(n, w) for n, w in self.weights if w > 0 and n not in self.down]
        if not up:  # every weighted backend is down: keep routing by weight rather than refuse everything
            up = [(n, w) for n, w in self.weights if w > 0]
        cumulative: list[int] = []
        total = 0
        for _, w in up:
            total += w
            cumulative.append(total)
        object.__setattr__(self, "_names", tuple(n for n, _ in up))
        object.__setattr__(self, "_cumulative", tuple(cumulative))
        object.__setattr__(self, "_total", total)
        object.__setattr__(self, "_weight", dict(self.weights))

    def weight(self, name: str) -> int:
        w: dict[str, int] = self._weight  # type: ignore[attr-defined]
        return w.get(name, 0)

    def eligible(self, name: str) -> bool:
        """May new (non-test) traffic go to `name`? Weight above zero and not down."""
        return self.weight(name) > 0 and name not in self.down

    def pick(self, u: float, exclude: str | None = None) -> str | None:
        """Weighted choice with u uniform in [0, 1); None when nothing has weight."""
        names: tuple[str, ...] = self._names  # type: ignore[attr-defined]
        cumulative: tuple[int, ...] = self._cumulative  # type: ignore[attr-defined]
        total: int = self._total  # type: ignore[attr-defined]
        if exclude is not None and exclude in names:
            rest = [(n, w) for n, w in self.weights if n != exclude and w > 0 and n not in self.down]
            if not rest:
                return None
            return RouteTable(tuple(rest)).pick(u)
        if total == 0:
            return None
        return names[bisect_right(cumulative, u * total)]

    def choose(
        self, u: float, route_value: str | None, sticky: str | None, backends: Iterable[str] = (), exact: bool = False
    ) -> str | None:
        """The backend for one request.

        route_value: the route header's value (None when absent). With a pinned header route every request
        carrying the header goes there; otherwise a value naming a configured backend goes to that backend
        regardless of its weight. `exact` (greenflag's own analysis traffic, tagged with the router's key): a value
        naming a backend goes there even while a route is pinned. sticky: the backend named by the sticky cookie;
        honoured while eligible.
        """
        if route_value is not None:
            if exact and route_value in backends:
                return route_value
            if self.header_route is not None:
                return self.header_route
            if route_value in backends:
                return route_value
        if sticky is not None and self.eligible(sticky):
            return sticky
        return self.pick(u)
