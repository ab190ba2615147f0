"""`load:` — the load test a release runs (scenario, users, duration, thresholds)."""

from __future__ import annotations

from pydantic import Field

from greenflag.spec.base import Duration, Model

__all__ = ["LoadSpec"]


class LoadSpec(Model):
    scenario: str | None = None
    host: str | None = None
    vus: int = Field(10, ge=1)
    duration: Duration = 30.0
    rate: float | None = None
    thresholds: dict[str, list[str]] = Field(default_factory=dict)
