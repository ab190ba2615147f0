"""The reference service's Prometheus instruments (request counters, latency histograms) and their exposition,
in a registry of its own (no global state)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "DemoMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class DemoMetrics:
    """Counters the request path touches through cached label children (one dict lookup per request)."""

    def __init__(self, version: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._requests = Counter(
            "greenflag_demo_http_requests",
            "HTTP requests answered, by method, route and status.",
            ("method", "path", "status"),
            registry=r,
        )
        self._duration = Histogram(
            "greenflag_demo_http_request_duration_seconds",
            "Time from the request's arrival to its handler's return, by route.",
            ("path",),
            buckets=_BUCKETS,
            registry=r,
        )
        self.in_flight = 0  # a plain int on the request path; the gauge reads it at scrape time
        in_flight = Gauge("greenflag_demo_http_requests_in_flight", "Requests being handled.", registry=r)
        in_flight.set_function(lambda: self.in_flight)
        self.sse_open = Gauge("greenflag_demo_sse_streams_open", "Server-Sent Events streams open.", registry=r)
        self.sse_events = Counter("greenflag_demo_sse_events", "Server-Sent Events sent.", registry=r)
        self.contacts = Counter("greenflag_demo_contacts_stored", "Contact submissions stored.", registry=r)
        self._faults = Counter(
            "greenflag_demo_injected_faults", "Faults injected by the fault options, by kind.", ("kind",), registry=r
        )
        self.ready = Gauge("greenflag_demo_ready", "1 when /healthz/ready answers 200.", registry=r)
        info = Gauge("greenflag_demo_build_info", "The version this instance serves.", ("version",), registry=r)
        info.labels(version).set(1)
        self._request_children: dict[tuple[str, str, int], Any] = {}
        self._duration_children: dict[str, Any] = {}

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        key = (method, path, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self._requests.labels(method, path, str(status))
        child.inc()
        timer = self._duration_children.get(path)
        if timer is None:
            timer = self._duration_children[path] = self._duration.labels(path)
        timer.observe(seconds)

    def fault(self, kind: str) -> None:
        self._faults.labels(kind).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
