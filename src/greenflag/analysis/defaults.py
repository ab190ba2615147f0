"""The built-in analysis (`analysis.defaults`): the router's error rate and p95 latency, judged statistically
against the stable by `compare.py`. Constants only (pure), shared by the analysis run and the rollout's plan."""

from __future__ import annotations

from greenflag.spec import MetricSpec

__all__ = [
    "BUILTIN_ERROR_RATE",
    "BUILTIN_LATENCY",
    "DEFAULT_ERROR_RATE_LIMIT",
    "DEFAULT_P95_LIMIT_MS",
    "builtin_metrics",
]
__pure__ = True

DEFAULT_ERROR_RATE_LIMIT = 0.01
DEFAULT_P95_LIMIT_MS = 3000.0
BUILTIN_ERROR_RATE = "error_rate"
BUILTIN_LATENCY = "latency"


def builtin_metrics(*, latency: bool = True) -> list[MetricSpec]:
    """The built-in metrics as metric specs (judged by `compare`, the conditions are for display); without
    `latency` (a router whose stats do not time requests) only the error rate."""
    rate = MetricSpec(name=BUILTIN_ERROR_RATE, provider="router", query="window", failure_condition="result > 0.01")
    timed = MetricSpec(name=BUILTIN_LATENCY, provider="router", query="window", failure_condition="result > 3000")
    return [rate, timed] if latency else [rate]
