"""`analysis:` — how a canary is judged: the built-in comparison with the stable and the user's metrics."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from greenflag.spec.base import Duration, Model
from greenflag.spec.traffic import AnalysisTrafficSpec, DetectSpec

__all__ = ["AnalysisSpec", "CompareSpec", "MetricSpec"]


class MetricSpec(Model):
    name: str
    provider: Literal["router", "prometheus", "http_json", "cloudwatch", "haproxy"] = "router"
    query: str
    interval: Duration | None = None  # default: analysis.interval
    count: int | None = Field(None, ge=1)
    initial_delay: Duration = 0.0
    success_condition: str | None = None
    failure_condition: str | None = None
    failure_limit: int = Field(0, ge=0)
    inconclusive_limit: int = Field(0, ge=0)
    consecutive_error_limit: int = Field(4, ge=0)
    window: Duration | None = None
    # provider settings: prometheus address, http_json url + json_path, cloudwatch region/...
    address: str | None = None
    url: str | None = None
    json_path: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class CompareSpec(Model):
    enabled: bool = True
    min_samples: int = Field(20, ge=10)  # canary requests before any comparison may decide
    error_rate_margin: float = Field(0.01, ge=0)
    latency_margin_ms: float = Field(100.0, ge=0)
    alpha: float = Field(0.01, gt=0, lt=0.5)  # error-rate SPRT false-failure bound
    latency_confidence: float = Field(0.98, gt=0.5, lt=1)  # Kayenta's Mann-Whitney confidence
    max_window: Duration = 300.0  # the comparison reads a growing window since analysis start, capped here


class AnalysisSpec(Model):
    interval: Duration = 1.0
    window: Duration = 10.0
    defaults: bool = True  # the built-in rules: error_rate > 0.01, p95 > 3s, failed health gate
    metrics: list[MetricSpec] = Field(default_factory=list)
    compare: CompareSpec = Field(default_factory=CompareSpec)
    # an analysis that ends without enough evidence (or whose metrics are Inconclusive): pause for a human (Argo's
    # rule), roll back, or promote anyway
    on_inconclusive: Literal["pause", "rollback", "promote"] = "pause"
    # analysis traffic: synthetic requests to the canary and the stable while analysing (spec/traffic.py)
    traffic: AnalysisTrafficSpec | None = None
    # the fault sizes whose time to detect `rollout plan` estimates
    detect: DetectSpec = Field(default_factory=DetectSpec)

    @property
    def judge(self) -> str:
        """What the built-in rules compare: `both` (every request), `user` or `synthetic` (analysis.traffic.judge)."""
        return "both" if self.traffic is None else self.traffic.judge
