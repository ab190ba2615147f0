"""The `haproxy` provider: a server's numbers from HAProxy's `show stat`, read through the Runtime API.

    - name: haproxy-5xx
      provider: haproxy
      address: /run/haproxy/admin.sock        # the stats socket (level admin or operator), or HOST:PORT
      query: error_rate                       # 5xx / responses over the metric's window
      options: {backend: app, servers: {blue: s_blue, green: s_green}}
      failure_condition: result > 0.01

Queries over the window (from HAProxy's cumulative counters, sampled by this provider: a window reaches back at
most to the provider's first query): `requests`, `errors` (5xx responses plus failed ones), `error_rate`,
`request_rate`. HAProxy's own figures, not windowed: `response_time_ms` (the average of its last 1024 requests)
and `response_time_max_ms` (the slowest since HAProxy started). The analysis's backend name is found as a key of
`options.servers`, else in `options.route_map` (the map greenflag keeps for `router.kind: haproxy`, which names
each version), else taken as the server's own name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from greenflag.analysis.providers.base import Observation
from greenflag.errors import ConfigError
from greenflag.spec import MetricSpec
from greenflag.traffic.base import RouterStats
from greenflag.traffic.counters import CounterHistory, counters_from_stat
from greenflag.traffic.haproxy_api import RuntimeAPI

__all__ = ["QUERIES", "HAProxyProvider", "create"]

WINDOWED = ("requests", "errors", "error_rate", "request_rate")
QUERIES = (*WINDOWED, "response_time_ms", "response_time_max_ms")


class HAProxyProvider:
    def __init__(
        self,
        api: RuntimeAPI,
        proxy: str,
        *,
        servers: dict[str, str] | None = None,
        route_map: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.proxy = proxy
        self.servers = dict(servers or {})
        self.route_map = route_map
        self._history: dict[str, CounterHistory] = {}  # one per backend name
        self._clock = clock

    async def _server(self, backend: str) -> str:
        if backend in self.servers:
            return self.servers[backend]
        if self.route_map is not None:
            entries = await self.api.map_entries(self.route_map)
            if backend in entries:
                return entries[backend]
        return backend

    async def query(self, query: str, *, backend: str, window_s: float) -> Observation:
        name = query.strip()
        if name not in QUERIES:
            return Observation(error=f"haproxy: unknown query {name!r}; one of {', '.join(QUERIES)}")
        try:
            server = await self._server(backend)
            stat = await self.api.stat(self.proxy)
        except ConnectionError as exc:  # a provider never raises
            return Observation(error=f"haproxy: {exc}")
        row = stat.get(server)
        if row is None:
            known = ", ".join(sorted(stat)) or "none"
            return Observation(error=f"haproxy: backend {self.proxy!r} has no server {server!r} (has: {known})")
        if name in ("response_time_ms", "response_time_max_ms"):
            value = row.get("rtime" if name == "response_time_ms" else "rtime_max", "")
            if not value.isdigit():
                return Observation(error=f"haproxy: {server} reports no response time yet")
            return Observation(value=float(value))
        now = self._clock()
        current = {backend: (server, counters_from_stat(row))}
        history = self._history.setdefault(backend, CounterHistory())
        window = history.windows(now, current, window_s)[backend]
        history.add(now, current)
        if name == "requests":
            return Observation(value=window.requests)
        if name == "errors":
            return Observation(value=window.errors)
        if name == "request_rate":
            return Observation(value=window.request_rate)
        if window.error_rate is None:
            return Observation(
                error=f"haproxy: error_rate of {backend!r} is unknown: no requests in {window.window_s:g}s"
            )
        return Observation(value=window.error_rate)


def create(metric: MetricSpec, *, router: RouterStats | None = None, where: str = "") -> HAProxyProvider:
    options: dict[str, Any] = dict(metric.options)
    if not metric.address:
        raise ConfigError(f"{where}.address: the haproxy provider needs the stats socket (a path, or HOST:PORT)")
    proxy = options.pop("backend", None)
    if not isinstance(proxy, str) or not proxy:
        raise ConfigError(f"{where}.options.backend: name the HAProxy backend whose servers to read")
    if metric.query.strip() not in QUERIES:
        raise ConfigError(f"{where}.query: {metric.query!r} is not one of {', '.join(QUERIES)}")
    servers = options.pop("servers", {})
    route_map = options.pop("route_map", None)
    timeout = options.pop("timeout", 5.0)
    if not isinstance(servers, dict) or not all(isinstance(v, str) for v in servers.values()):
        raise ConfigError(f"{where}.options.servers: expected a mapping backend name → HAProxy server")
    if route_map is not None and not isinstance(route_map, str):
        raise ConfigError(f"{where}.options.route_map: expected the map file's path")
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(f"{where}.options.timeout: expected seconds > 0")
    if options:
        raise ConfigError(f"{where}.options.{sorted(options)[0]}: unknown key")
    api = RuntimeAPI(metric.address, timeout=float(timeout))
    return HAProxyProvider(api, proxy, servers={str(k): v for k, v in servers.items()}, route_map=route_map)
