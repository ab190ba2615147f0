"""Read aggregations (p(95), avg, rate, count, …) of any metric from a run's registry, for thresholds and the
summary. Trend values are milliseconds, as in k6."""

from __future__ import annotations

from typing import Literal

from greenflag.hdr import Histogram
from greenflag.load.metrics.series import HTTP_TRENDS, Registry, Tags
from greenflag.load.metrics.thresholds import Threshold

__all__ = ["METRIC_TYPES", "Snapshot", "validate_thresholds"]
__pure__ = True

MetricType = Literal["trend", "counter", "rate", "gauge"]
METRIC_TYPES: dict[str, MetricType] = {
    **{name: "trend" for name in HTTP_TRENDS},
    "iteration_duration": "trend",
    "http_reqs": "counter",
    "iterations": "counter",
    "dropped_iterations": "counter",
    "data_sent": "counter",
    "data_received": "counter",
    "http_req_failed": "rate",
    "checks": "rate",
    "vus": "gauge",
    "vus_max": "gauge",
    "sse_time_to_first_event": "trend",
    "sse_event_gap": "trend",
    "sse_stream_duration": "trend",
    "sse_events": "counter",
    "sse_reconnects": "counter",
}
_TOTALS_KEY = {"http_reqs": "reqs", "data_sent": "bytes_sent", "data_received": "bytes_recv"}
_AGGREGATIONS: dict[MetricType, set[str]] = {
    "trend": {"avg", "min", "max", "med", "count"},
    "counter": {"count", "rate"},
    "rate": {"rate"},
    "gauge": {"value"},
}


def validate_thresholds(thresholds: list[Threshold], *, allow_custom: bool) -> list[str]:
    """Problems with thresholds before the run: unknown metrics and aggregations that do not fit the metric."""
    problems = []
    for threshold in thresholds:
        kind = METRIC_TYPES.get(threshold.metric)
        if kind is None:
            if not allow_custom:
                known = ", ".join(sorted(METRIC_TYPES))
                problems.append(f"{threshold.key}: no such metric (known: {known})")
            continue
        allowed = _AGGREGATIONS[kind]
        if threshold.percentile is not None and kind != "trend":
            problems.append(f"{threshold.key}: p(N) applies to trends; {threshold.metric} is a {kind}")
        elif threshold.percentile is None and threshold.aggregation not in allowed:
            options = ", ".join(sorted(allowed | ({"p(N)"} if kind == "trend" else set())))
            problems.append(f"{threshold.key}: {threshold.aggregation} does not apply to a {kind}; use {options}")
    return problems


def trend_value(hist: Histogram, aggregation: str, percentile: float | None) -> float | None:
    if hist.count == 0:
        return None
    if aggregation == "count":
        return float(hist.count)
    if percentile is not None:
        return hist.percentile(percentile) / 1000.0
    if aggregation == "avg":
        return hist.mean / 1000.0
    if aggregation == "min":
        return hist.min / 1000.0
    if aggregation == "max":
        return hist.max / 1000.0
    return hist.percentile(50) / 1000.0  # med


class Snapshot:
    def __init__(self, registry: Registry, elapsed_s: float) -> None:
        self.registry = registry
        self.elapsed = max(elapsed_s, 1e-9)

    def trend(self, metric: str, tags: Tags = ()) -> Histogram | None:
        if metric in HTTP_TRENDS:
            return self.registry.trend_view(metric, tags)
        if metric == "iteration_duration":
            if not tags:
                return self.registry.iteration_duration
            scopes = self.registry.scoped(tags)
            merged = Histogram()
            for scope in scopes:
                merged.merge(scope.iteration_duration)
            return merged if scopes else None
        return self.registry.custom_trend(metric, tags)

    def counter(self, metric: str, tags: Tags = ()) -> float | None:
        reg = self.registry
        if metric in ("http_reqs", "data_sent", "data_received"):
            totals = reg.http_totals(tags)
            return float(
                totals[{"http_reqs": "reqs", "data_sent": "bytes_sent", "data_received": "bytes_recv"}[metric]]
            )
        if metric in ("iterations", "dropped_iterations"):
            if tags:  # per scenario, in a run of several (Registry.scopes)
                scopes = reg.scoped(tags)
                return float(sum(getattr(scope, metric) for scope in scopes)) if scopes else None
            return float(reg.iterations if metric == "iterations" else reg.dropped_iterations)
        found = [v for (name, t), v in reg.counters.items() if name == metric and all(x in t for x in tags)]
        return float(sum(found)) if found else None

    def rate(self, metric: str, tags: Tags = ()) -> float | None:
        if metric == "http_req_failed":
            totals = self.registry.http_totals(tags)
            return totals["failed"] / totals["reqs"] if totals["reqs"] else None
        passes = fails = 0
        for (name, t), (p, f) in self.registry.rates.items():
            if name == metric and all(x in t for x in tags):
                passes += p
                fails += f
        return passes / (passes + fails) if passes + fails else None

    def value(self, threshold: Threshold) -> float | None:
        metric, tags, agg = threshold.metric, threshold.tags, threshold.aggregation
        kind = METRIC_TYPES.get(metric)
        if kind == "trend" or (kind is None and self.registry.custom_trend(metric, tags) is not None):
            hist = self.trend(metric, tags)
            return None if hist is None else trend_value(hist, agg, threshold.percentile)
        if kind == "rate" or (kind is None and agg == "rate" and self.rate(metric, tags) is not None):
            return self.rate(metric, tags)
        if kind == "gauge":
            if tags:
                scopes = self.registry.scoped(tags)
                return float(sum(getattr(scope, metric) for scope in scopes)) if scopes else None
            return float(self.registry.vus if metric == "vus" else self.registry.vus_max)
        count = self.counter(metric, tags)
        if count is None:
            return None
        return count / self.elapsed if agg == "rate" else count
