"""`analysis:` — how a canary is judged: the built-in comparison with the stable and the user's metrics."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from greenflag.spec.base import Duration, Model
from greenflag.spec.traffic import AnalysisTrafficSpec, DetectSpec

__all__ = ["AlarmsSpec", "AnalysisSpec", "CompareSpec", "MetricSpec"]


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


class AlarmsSpec(Model):
    """`analysis.alarms`: CloudWatch alarms as rollback triggers (CodeDeploy's alarm configuration): while a rollout is
    in flight, any listed alarm in ALARM rolls it back."""

    names: list[str] = Field(min_length=1, max_length=100)  # one DescribeAlarms call (CodeDeploy takes at most 10)
    region: str | None = None  # default: router.region for an ALB, else boto3's (AWS_REGION, the profile)
    endpoint_url: str | None = None  # another CloudWatch endpoint (a VPC endpoint; moto in tests)
    interval: Duration = Field(10.0, gt=0)  # how often the alarms are polled
    ignore_poll_failure: bool = False  # CodeDeploy's ignorePollAlarmFailure: carry on when the state cannot be read
    on_insufficient_data: Literal["ignore", "rollback"] = "ignore"  # INSUFFICIENT_DATA: ignored, as CodeDeploy does
    timeout: Duration = Field(5.0, gt=0)  # one poll (connect and read)

    @field_validator("names")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not 1 <= len(name) <= 255 or any(ord(c) < 32 for c in name):
                raise ValueError(f"{name!r}: an alarm name is 1-255 printable characters")
        if len(set(value)) != len(value):
            raise ValueError("an alarm is listed twice")
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value


class AnalysisSpec(Model):
    interval: Duration = 1.0
    window: Duration = 10.0
    defaults: bool = True  # the built-in rules: error_rate > 0.01, p95 > 3s, failed health gate
    metrics: list[MetricSpec] = Field(default_factory=list)
    compare: CompareSpec = Field(default_factory=CompareSpec)
    # an analysis that ends without enough evidence (or whose metrics are Inconclusive): pause for a human (Argo's
    # rule), roll back, or promote anyway
    on_inconclusive: Literal["pause", "rollback", "promote"] = "pause"
    alarms: AlarmsSpec | None = None  # CloudWatch alarms that roll a rollout back
    # analysis traffic: synthetic requests to the canary and the stable while analysing (spec/traffic.py)
    traffic: AnalysisTrafficSpec | None = None
    # the fault sizes whose time to detect `rollout plan` estimates
    detect: DetectSpec = Field(default_factory=DetectSpec)

    @property
    def judge(self) -> str:
        """What the built-in rules compare: `both` (every request), `user` or `synthetic` (analysis.traffic.judge)."""
        return "both" if self.traffic is None else self.traffic.judge
