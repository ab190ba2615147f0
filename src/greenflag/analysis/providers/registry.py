"""Metric providers by name: an explicit `name → "module:factory"` table, imported lazily.

A factory takes the metric's spec (address, url, json_path, options) and shared context (the router's stats
client for `router`) and returns a `MetricProvider`. Query text may use `{{backend}}` and `{{window}}` (e.g. 30s):
providers fill them in with `base.render_query`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from greenflag.analysis.providers.base import MetricProvider
from greenflag.errors import ConfigError
from greenflag.spec import MetricSpec
from greenflag.traffic.base import RouterStats

__all__ = ["PROVIDERS", "create_provider"]

PROVIDERS: dict[str, str] = {
    "router": "greenflag.analysis.providers.router:create",
    "prometheus": "greenflag.analysis.providers.prometheus:create",
    "http_json": "greenflag.analysis.providers.http_json:create",
    "cloudwatch": "greenflag.analysis.providers.cloudwatch:create",
    "haproxy": "greenflag.analysis.providers.haproxy:create",
}


def create_provider(metric: MetricSpec, *, router: RouterStats | None = None, where: str = "") -> MetricProvider:
    """Build the provider a metric names. Missing settings raise ConfigError naming `where` (a key path)."""
    target = PROVIDERS.get(metric.provider)
    if target is None:  # pragma: no cover - the spec's Literal forbids it
        raise ConfigError(f"{where or metric.name}: unknown provider {metric.provider!r}")
    module_name, _, attr = target.partition(":")
    factory: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    provider: MetricProvider = factory(metric, router=router, where=where or f"metric {metric.name}")
    return provider
