"""The Router seam (docs/router.md). One module per router implements it; `greenflag.testing.FakeRouter` fakes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "SYNTHETIC_HEADER",
    "TRAFFIC_KINDS",
    "BackendHealth",
    "BackendManager",
    "BackendWindow",
    "DrainTimes",
    "HeaderRouting",
    "HealthReporter",
    "OpenRequests",
    "Router",
    "RouterStats",
    "SyntheticTagging",
    "Weights",
    "percentiles",
]

Weights = dict[str, int]
SYNTHETIC_HEADER = "X-Greenflag-Synthetic"  # greenflag's analysis traffic carries it (value: the router's key)
TRAFFIC_KINDS = ("both", "user", "synthetic")  # what a window counts: everything, users' only, synthetic only


@runtime_checkable
class Router(Protocol):
    async def apply(self, weights: Weights) -> None:
        """Set traffic weights (integers, normalised by the router). Idempotent and atomic. The weights replace
        the router's: every backend the router knows and `weights` does not name gets 0 (a rollback to
        `{stable: 100}` leaves nothing on the canary)."""
        ...

    async def observe(self) -> Weights | None:
        """Read the weights back from the router; None when the router cannot say."""
        ...

    async def reset(self, stable: str | None = None) -> None:
        """100 % to `stable` (or the configured default weights) and remove managed routes (header routes)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class BackendManager(Protocol):
    """Optional capability: routers whose backends greenflag adds and removes (embedded, haproxy, nginx)."""

    async def set_backends(self, backends: dict[str, str]) -> None:
        """Replace the set of backends (name → base URL). Removed backends drain first."""
        ...


@runtime_checkable
class HeaderRouting(Protocol):
    """Optional capability: send requests carrying the route header to a named backend (test traffic)."""

    async def set_header_route(self, backend: str | None) -> None: ...


@runtime_checkable
class SyntheticTagging(Protocol):
    """Optional capability: routers that count greenflag's analysis traffic apart from users' (the embedded router).
    A request carrying `header: value` is synthetic; with the route header it reaches exactly the backend it names,
    even while a header route is pinned."""

    def synthetic_tag(self) -> tuple[str, str]: ...


@dataclass(frozen=True)
class BackendWindow:
    """What one backend served over a window, as clients saw it."""

    backend: str
    window_s: float
    requests: int = 0
    responses: dict[str, int] = field(default_factory=dict)  # "2xx" → count, ...
    transport_errors: int = 0
    # latency histogram in milliseconds: sorted (upper_bound_ms, count) pairs, HDR-derived
    latency_buckets: tuple[tuple[float, int], ...] = ()
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    # the analysis traffic among these requests (same shape, counted in the numbers above too); None: the router
    # cannot tell synthetic requests apart
    synthetic: BackendWindow | None = None

    @property
    def errors(self) -> int:
        return self.responses.get("5xx", 0) + self.transport_errors

    @property
    def error_rate(self) -> float | None:
        return None if self.requests == 0 else self.errors / self.requests

    @property
    def request_rate(self) -> float:
        return self.requests / self.window_s if self.window_s > 0 else 0.0

    def part(self, traffic: str) -> BackendWindow:
        """`both`: this window; `synthetic`: its analysis traffic (empty when there is none); `user`: the rest."""
        if traffic == "both":
            return self
        synthetic = self.synthetic or BackendWindow(self.backend, self.window_s)
        if traffic == "synthetic":
            return synthetic
        responses = {k: n - synthetic.responses.get(k, 0) for k, n in self.responses.items()}
        latency = dict(self.latency_buckets)
        for bound, count in synthetic.latency_buckets:
            latency[bound] = latency.get(bound, 0) - count
        buckets = tuple((b, c) for b, c in sorted(latency.items()) if c > 0)
        p50, p95, p99 = percentiles(buckets, (50.0, 95.0, 99.0))
        return BackendWindow(
            self.backend,
            self.window_s,
            self.requests - synthetic.requests,
            {k: n for k, n in responses.items() if n > 0},
            self.transport_errors - synthetic.transport_errors,
            buckets,
            p50,
            p95,
            p99,
        )


def percentiles(buckets: tuple[tuple[float, int], ...], qs: tuple[float, ...]) -> list[float | None]:
    """Percentiles of a bucketed histogram (sorted (upper bound, count)): the first bound whose cumulative count
    reaches q % of the total, as HdrHistogram reports them; None without values."""
    total = sum(c for _, c in buckets)
    out: list[float | None] = []
    for q in qs:
        if total == 0:
            out.append(None)
            continue
        need, seen = q / 100.0 * total, 0
        value = buckets[-1][0]
        for bound, count in buckets:
            seen += count
            if seen >= need:
                value = bound
                break
        out.append(value)
    return out


@runtime_checkable
class RouterStats(Protocol):
    """Optional capability: routers that see the traffic report per-backend windows."""

    async def stats(self, window_s: float) -> dict[str, BackendWindow]: ...


@runtime_checkable
class DrainTimes(Protocol):
    """Optional capability: routers whose backends keep their in-flight requests for a while after they lose their
    weight (an ALB target group's deregistration delay). A rollout stops a version only after this long."""

    async def drain_times(self) -> dict[str, float]:
        """Backend name → seconds a backend taken out of traffic may still be finishing requests."""
        ...


@runtime_checkable
class OpenRequests(Protocol):
    """Optional capability: routers that count the requests each backend is still answering. A rollout stops a
    version that lost its traffic only once none are open on it (or `router.drain_timeout` after it lost it)."""

    async def open_requests(self) -> dict[str, int]:
        """Backend name → requests sent to it and not answered yet (weight 0 or not)."""
        ...


@dataclass(frozen=True)
class BackendHealth:
    """What a router that health-checks its backends itself (ALB target health) says about one of them."""

    backend: str
    ready: bool  # every target healthy, and at least one
    detail: str  # "2/2 healthy", "10.0.0.6:8080 unhealthy (Target.ResponseCodeMismatch)"


@runtime_checkable
class HealthReporter(Protocol):
    """Optional capability: routers with their own health checks; a version is ready only when they agree."""

    async def backend_health(self, backends: dict[str, str] | None = None) -> dict[str, BackendHealth]:
        """Name → health for `backends` (name → URL, found by address: they need not be the router's yet), or for
        the backends the router holds."""
        ...
