"""`health:` — the readiness and liveness probes of a version's instances."""

from __future__ import annotations

from pydantic import Field, model_validator

from greenflag.spec.base import Duration, Model

__all__ = ["HealthSpec", "ProbeSpec"]


class ProbeSpec(Model):
    http: str | None = None
    tcp: bool | None = None
    exec: list[str] | None = None
    expect_status: list[int] = Field(default_factory=lambda: list(range(200, 400)))
    body_contains: str | None = None
    json_field: str | None = None  # dotted path that must be truthy, or PATH=VALUE (e.g. status=ok)
    max_latency: Duration | None = None
    initial_delay: Duration = 0.0
    interval: Duration = 1.0
    timeout: Duration = 1.0
    success_threshold: int = Field(1, ge=1)
    failure_threshold: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _one_kind(self) -> ProbeSpec:
        kinds = [k for k in ("http", "tcp", "exec") if getattr(self, k) not in (None, False)]
        if len(kinds) != 1:
            raise ValueError("a probe needs exactly one of http (a path), tcp: true, or exec (a command list)")
        return self


class HealthSpec(Model):
    readiness: ProbeSpec | None = None
    liveness: ProbeSpec | None = None
