"""The `prometheus` provider: an instant query over Prometheus' HTTP API (`GET /api/v1/query`).

The result, like Argo Rollouts': a vector becomes a list of floats (`result[0]`), a scalar a float.
"""

from __future__ import annotations

from typing import Any

from greenflag.analysis.providers.base import Observation, render_query
from greenflag.errors import ConfigError
from greenflag.spec import MetricSpec
from greenflag.traffic.base import RouterStats

__all__ = ["PrometheusProvider", "create", "parse_response"]


def parse_response(body: Any) -> Observation:
    """Turn a /api/v1/query JSON body into an Observation (pure)."""
    if not isinstance(body, dict):
        return Observation(error="prometheus: response is not a JSON object")
    if body.get("status") != "success":
        return Observation(error=f"prometheus: {body.get('errorType', 'error')}: {body.get('error', body)}")
    data = body.get("data") or {}
    kind, result = data.get("resultType"), data.get("result", [])
    try:
        if kind == "vector":
            return Observation(value=[float(item["value"][1]) for item in result])
        if kind == "scalar":
            return Observation(value=float(result[1]))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        return Observation(error=f"prometheus: malformed {kind} result: {exc}")
    return Observation(error=f"prometheus: result type {kind!r} not supported; use an instant vector or scalar")


class PrometheusProvider:
    def __init__(self, address: str, query: str, timeout_s: float = 5.0) -> None:
        self.address = address.rstrip("/")
        self.template = query
        self.timeout_s = timeout_s

    async def query(self, query: str, *, backend: str, window_s: float) -> Observation:
        import aiohttp

        text = render_query(query or self.template, backend=backend, window_s=window_s)
        url = f"{self.address}/api/v1/query"
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout_s)
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url, params={"query": text}) as r:
                body = await r.json(content_type=None)
        except Exception as exc:
            return Observation(error=f"prometheus: {url}: {type(exc).__name__}: {exc}")
        return parse_response(body)


def create(metric: MetricSpec, *, router: RouterStats | None = None, where: str = "") -> PrometheusProvider:
    if not metric.address:
        raise ConfigError(f"{where}.address: the prometheus provider needs address (e.g. http://127.0.0.1:9090)")
    return PrometheusProvider(metric.address, metric.query, float(metric.options.get("timeout", 5.0)))
