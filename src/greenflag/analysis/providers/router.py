"""The `router` provider: per-backend windows from a router that sees the traffic (`RouterStats`).

Queries: `error_rate`, `request_rate`, `p50_ms`, `p95_ms`, `p99_ms`, `requests`, `errors`, and `window` (the
whole BackendWindow as a mapping, with its `synthetic` part when the router counts analysis traffic apart: used
by the canary-versus-stable comparison). `options.traffic` picks what a query counts: `both` (default: every
request), `user` (without greenflag's analysis traffic) or `synthetic` (only it).
"""

from __future__ import annotations

from typing import Any

from greenflag.analysis.providers.base import Observation
from greenflag.errors import ConfigError
from greenflag.spec import MetricSpec
from greenflag.traffic.base import TRAFFIC_KINDS, BackendWindow, RouterStats

__all__ = ["QUERIES", "RouterProvider", "create", "window_value"]

QUERIES = ("error_rate", "request_rate", "p50_ms", "p95_ms", "p99_ms", "requests", "errors", "window")


def window_value(window: BackendWindow) -> dict[str, Any]:
    out = _value(window)
    out["synthetic"] = None if window.synthetic is None else _value(window.synthetic)
    return out


def _value(window: BackendWindow) -> dict[str, Any]:
    return {
        "backend": window.backend,
        "window_s": window.window_s,
        "requests": window.requests,
        "errors": window.errors,
        "error_rate": window.error_rate,
        "request_rate": window.request_rate,
        "p50_ms": window.p50_ms,
        "p95_ms": window.p95_ms,
        "p99_ms": window.p99_ms,
        "latency_buckets": [[b, c] for b, c in window.latency_buckets],
    }


class RouterProvider:
    def __init__(self, stats: RouterStats, traffic: str = "both") -> None:
        self.stats = stats
        self.traffic = traffic

    async def query(self, query: str, *, backend: str, window_s: float) -> Observation:
        name = query.strip()
        if name not in QUERIES:
            return Observation(error=f"router: unknown query {name!r}; one of {', '.join(QUERIES)}")
        try:
            windows = await self.stats.stats(window_s)
        except Exception as exc:  # a provider never raises
            return Observation(error=f"router: stats unavailable: {type(exc).__name__}: {exc}")
        window = windows.get(backend)
        if window is None:
            known = ", ".join(sorted(windows)) or "none"
            return Observation(error=f"router: no backend {backend!r} (known: {known})")
        if name == "window":
            return Observation(value=window_value(window))
        window = window.part(self.traffic)
        value = getattr(window, name)
        if value is None:
            return Observation(error=f"router: {name} of {backend!r} is unknown: no requests in the last {window_s:g}s")
        return Observation(value=float(value) if name not in ("requests", "errors") else int(value))


def create(metric: MetricSpec, *, router: RouterStats | None = None, where: str = "") -> RouterProvider:
    if router is None:
        raise ConfigError(f"{where}: the router provider needs a router that reports stats (router.kind: embedded)")
    if metric.query.strip() not in QUERIES:
        raise ConfigError(f"{where}.query: {metric.query!r} is not one of {', '.join(QUERIES)}")
    traffic = metric.options.get("traffic", "both")
    if traffic not in TRAFFIC_KINDS:
        raise ConfigError(f"{where}.options.traffic: {traffic!r} is not one of {', '.join(TRAFFIC_KINDS)}")
    return RouterProvider(router, str(traffic))
