"""Quick mode: `greenflag load run URL` — every iteration is one request to one URL (like wrk and hey)."""

from __future__ import annotations

import time

from greenflag.load.http import Client, Target, build_request
from greenflag.load.metrics import Registry, Series

__all__ = ["UrlScenario"]

_perf = time.perf_counter


class UrlScenario:
    def __init__(
        self,
        target: Target,
        registry: Registry,
        *,
        method: str = "GET",
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self.target = target
        self.registry = registry
        self.method = method
        self.data = build_request(method, target, headers=headers or [], body=body)
        self.name = target.origin + target.path
        self.timeout = timeout
        self.connect_timeout = connect_timeout

    def new_vu(self, vu_id: int) -> UrlVU:
        return UrlVU(self)


class UrlVU:
    __slots__ = ("client", "data", "head", "idempotent", "last", "method", "name", "registry", "sent")

    def __init__(self, scenario: UrlScenario) -> None:
        self.client = Client(scenario.target, timeout=scenario.timeout, connect_timeout=scenario.connect_timeout)
        self.data = scenario.data
        self.sent = len(scenario.data)
        self.method = scenario.method
        self.head = scenario.method == "HEAD"
        self.idempotent = scenario.method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")
        self.name = scenario.name
        self.registry = scenario.registry
        self.last: Series | None = None

    async def start(self) -> None:
        return None

    async def iteration(self, scheduled: float) -> None:
        client = self.client
        status = await client.send(self.data, head=self.head, idempotent=self.idempotent)
        series = self.last
        if series is None or series.status != status:
            series = self.last = self.registry.series_for(self.name, self.method, status)
        duration = series.record_http(
            scheduled,
            client.t_sent,
            client.t_first,
            client.t_done,
            client.blocked_s,
            client.connecting_s,
            client.tls_s,
            self.sent,
            client.bytes_recv,
            client.error,
        )
        self.registry.note_request(client.t_done, duration, not series.expected)

    async def stop(self) -> None:
        self.client.close()
