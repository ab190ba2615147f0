"""The `readiness:` section of greenflag.yaml: the checklist `greenflag check all` runs (docs/readiness.md).

Every item may say `required` (default true), `timeout` and `label`. Unknown keys are errors, like everywhere in
the spec. `required_before: promote` asks a rollout to pass the checklist before it promotes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from greenflag.spec.base import Duration, Model
from greenflag.units import parse_duration

__all__ = [
    "BackupsCheckSpec",
    "CheckItem",
    "DnsCheckSpec",
    "DrillRecordsSpec",
    "Grade",
    "HeadersCheckSpec",
    "HealthCheckSpec",
    "MonitoringCheckSpec",
    "ReadinessSpec",
    "TlsCheckSpec",
    "UserCheckSpec",
    "WafCheckSpec",
]

Grade = Literal["A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "E", "F"]


def _age(value: Any) -> Any:
    """Durations as elsewhere, plus days: '7d', '1.5d'."""
    if isinstance(value, str) and value.strip().endswith("d") and value.strip()[:-1].replace(".", "", 1).isdigit():
        return float(value.strip()[:-1]) * 86400.0
    return parse_duration(value)


Age = Annotated[float, BeforeValidator(_age)]


class CheckItem(Model):
    required: bool = True  # a failed required check makes the checklist fail (exit 4)
    timeout: Duration | None = None  # default: readiness.timeout
    label: str | None = None  # shown in the report instead of the target


class TlsCheckSpec(CheckItem):
    host: str  # HOST or HOST:PORT (443)
    sni: str | None = None
    min_grade: Grade = "A+"
    min_days: float = Field(21.0, ge=0)  # the certificate must stay valid this many days


class DnsCheckSpec(CheckItem):
    name: str
    resolvers: list[str] = Field(default_factory=list)  # IP[:PORT] of recursive resolvers (propagation)
    nameservers: list[str] = Field(default_factory=list)  # IP[:PORT] of the authoritatives, instead of discovery
    require_caa: bool = False
    require_propagation: bool = False


class WafCheckSpec(CheckItem):
    url: str
    block_status: list[int] = Field(default_factory=lambda: [403])
    pass_status: list[int] = Field(default_factory=lambda: [200, 404])
    block_regex: str | None = None
    pass_regex: str | None = None
    block_conn_reset: bool = False
    budget: int = Field(2000, ge=1)
    rate: float = Field(50.0, gt=0)
    concurrency: int = Field(4, ge=1, le=64)
    classes: list[str] = Field(default_factory=list)
    placeholders: list[str] = Field(default_factory=list)
    encoders: list[str] = Field(default_factory=list)
    min_block_rate: float = 90.0
    max_false_positive_rate: float = 5.0
    max_unresolved_rate: float = 5.0
    min_grade: Grade | None = None


class HeadersCheckSpec(CheckItem):
    url: str
    http_url: str | None = None
    https_url: str | None = None
    min_grade: Grade = "A+"


class MonitoringCheckSpec(CheckItem):
    prometheus: str  # base URL of Prometheus (or anything serving its HTTP API)
    jobs: list[str] = Field(default_factory=list)  # each needs up{job="..."} == 1 for every target
    selectors: list[str] = Field(default_factory=list)  # PromQL label selectors, e.g. '{job="shop",env="prod"}'
    alert_rules: list[str] = Field(default_factory=list)  # alert names that must be loaded
    min_alert_rules: int = Field(1, ge=0)
    require_runbook: bool = False  # every alert rule needs a runbook_url annotation


class DrillRecordsSpec(Model):
    directory: str | None = None  # default: {state_dir}/drills
    kind: str | None = None  # postgres, sqlite, ...; default: any
    max_age: Age  # a restore drill must have finished within this (e.g. 7d)


class BackupsCheckSpec(CheckItem):
    directory: str | None = None  # the newest file in it (matching pattern) is the newest backup
    pattern: str = "*"
    command: list[str] | None = None  # or: a command printing the newest backup's time (ISO-8601 or epoch)
    max_age: Age | None = None  # the RPO objective: the newest backup must be younger
    drills: DrillRecordsSpec | None = None

    @model_validator(mode="after")
    def _what(self) -> BackupsCheckSpec:
        if self.directory is not None and self.command is not None:
            raise ValueError("give directory or command, not both")
        if (self.directory is not None or self.command is not None) and self.max_age is None:
            raise ValueError("max_age (the RPO objective) is required with directory or command")
        if self.directory is None and self.command is None and self.drills is None:
            raise ValueError("give directory or command (newest backup), drills (restore drills), or both")
        return self


class HealthCheckSpec(CheckItem):
    url: str
    expect_status: list[int] = Field(default_factory=lambda: list(range(200, 400)))
    body_contains: str | None = None
    json_field: str | None = None
    max_latency: Duration | None = None


class UserCheckSpec(CheckItem):
    name: str
    exec: list[str] | None = None
    http: str | None = None
    expect_status: list[int] = Field(default_factory=lambda: list(range(200, 400)))
    body_contains: str | None = None
    json_field: str | None = None

    @model_validator(mode="after")
    def _one(self) -> UserCheckSpec:
        if (self.exec is None) == (self.http is None):
            raise ValueError("a check needs exactly one of exec (a command list) or http (a URL)")
        return self


class ReadinessSpec(Model):
    required_before: Literal["promote"] | None = None  # a rollout runs the checklist before promoting
    timeout: Duration = 120.0  # per check, unless the check sets its own
    resolve: list[str] = Field(default_factory=list)  # HOST:PORT:ADDRESS, curl's meaning
    ca_file: str | None = None
    tls: list[TlsCheckSpec] = Field(default_factory=list)
    dns: list[DnsCheckSpec] = Field(default_factory=list)
    waf: list[WafCheckSpec] = Field(default_factory=list)
    headers: list[HeadersCheckSpec] = Field(default_factory=list)
    monitoring: list[MonitoringCheckSpec] = Field(default_factory=list)
    backups: list[BackupsCheckSpec] = Field(default_factory=list)
    health: list[HealthCheckSpec] = Field(default_factory=list)
    checks: list[UserCheckSpec] = Field(default_factory=list)
