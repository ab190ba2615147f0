"""Prometheus exposition for the embedded router, read from its stats at scrape time (nothing on the hot path)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from greenflag.traffic.embedded.stats import CLASSES, BackendSeries

if TYPE_CHECKING:
    from greenflag.traffic.embedded.protocols import ScrapedRouter

__all__ = ["RouterCollector", "render_metrics"]


class RouterCollector:
    """A prometheus-client custom collector over one router's cumulative per-backend totals."""

    def __init__(self, router: ScrapedRouter) -> None:
        self._router = router

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        core = self._router.core
        now = int(time.monotonic())
        requests = CounterMetricFamily("greenflag_router_requests", "Requests finished per backend", labels=["backend"])
        responses = CounterMetricFamily(
            "greenflag_router_responses", "Responses per backend and status class", labels=["backend", "code"]
        )
        errors = CounterMetricFamily(
            "greenflag_router_transport_errors", "Requests that failed at the transport level", labels=["backend"]
        )
        latency = HistogramMetricFamily(
            "greenflag_router_request_duration_seconds", "Request duration through the router", labels=["backend"]
        )
        synthetic = CounterMetricFamily(
            "greenflag_router_synthetic_requests",
            "Requests of greenflag's analysis traffic per backend (counted in _requests_total too)",
            labels=["backend"],
        )
        for name, tagged in sorted(core.stats.synthetic.items()):
            synthetic.add_metric([name], sum(tagged.totals))
        weight = GaugeMetricFamily("greenflag_router_weight", "Configured weight", labels=["backend"])
        in_flight = GaugeMetricFamily("greenflag_router_in_flight", "Requests in flight", labels=["backend"])
        for name, series in sorted(core.stats.series.items()):
            series.flush(now)
            requests.add_metric([name], sum(series.totals))
            for i, cls in enumerate(CLASSES):
                responses.add_metric([name, cls], series.totals[i])
            errors.add_metric([name], series.totals[5])
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip(BackendSeries.PROM_BOUNDS_MS, series.prom_buckets, strict=False):
                cumulative += count
                buckets.append((repr(bound / 1000.0), cumulative))
            buckets.append(("+Inf", cumulative + series.prom_buckets[-1]))
            latency.add_metric([name], buckets, series.latency_sum_us / 1e6)
        for name, state in self._router.backend_states().items():
            weight.add_metric([name], state.weight)
            in_flight.add_metric([name], state.in_flight)
        yield from (requests, synthetic, responses, errors, latency, weight, in_flight)


def render_metrics(router: ScrapedRouter) -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(RouterCollector(router))
    for collector in router.metric_collectors:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
