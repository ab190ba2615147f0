"""`analysis.traffic` — the analysis traffic greenflag sends to the canary and the stable while it analyses them,
and `analysis.detect` — the faults the pre-rollout sizing (`greenflag rollout plan`) estimates the time to detect.

```yaml
analysis:
  traffic:
    urls: [/, /about]          # or journeys: journeys.yaml (a scenario file of `greenflag load run`)
    rate: 50                   # requests (journey iterations) per second to EACH of the canary and the stable
    duration: while_analysing  # or 20s: from the start of each analysis run
    max_rate: 200              # the most requests per second sent in total, whatever the journeys do
    headers: {X-Test: "1"}
    judge: both                # both | user | synthetic: what the built-in rules compare
  detect: {error_rate: 1%, latency_ms: 200}
```
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from greenflag.spec.base import Duration, Model
from greenflag.units import parse_duration

__all__ = ["JUDGES", "TAGGING_KINDS", "AnalysisTrafficSpec", "DetectSpec", "Judge", "check_judge"]

Judge = Literal["both", "user", "synthetic"]
JUDGES: tuple[str, ...] = ("both", "user", "synthetic")
# Router kinds that count tagged (synthetic) requests apart from users': only these can judge `user` or `synthetic`.
TAGGING_KINDS = frozenset({"embedded"})
WHILE_ANALYSING = "while_analysing"
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
_RESERVED = {"x-greenflag-synthetic", "x-greenflag-route", "host", "content-length", "transfer-encoding", "connection"}


def _duration_or_while(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower().replace("-", "_") == WHILE_ANALYSING):
        return None
    return parse_duration(value)


def _fraction(value: Any) -> Any:
    """`1%` → 0.01; numbers as they are (a fraction: 0.01 is 1 %)."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"expected a percentage such as 1% or a fraction such as 0.01, got {value!r}") from None
    return value


class AnalysisTrafficSpec(Model):
    """Synthetic requests greenflag's load engine sends through the router's test route, pinned to the canary and
    to the stable at the same rate, tagged so the router counts them apart."""

    urls: list[str] | None = None
    journeys: str | None = None
    rate: float = Field(10.0, gt=0, le=10_000)
    duration: Annotated[float | None, BeforeValidator(_duration_or_while)] = None  # None: while analysing
    max_rate: float = Field(200.0, gt=0, le=20_000)
    headers: dict[str, str] = Field(default_factory=dict)
    judge: Judge = "both"
    timeout: Duration = 10.0

    @field_validator("urls")
    @classmethod
    def _paths(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("name at least one path, e.g. [/, /about]")
        for url in value:
            if not url.startswith("/") or url.startswith("//") or any(c in url for c in " \r\n\t"):
                raise ValueError(f"{url!r}: expected a path on the router such as /about (the traffic goes through it)")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _TOKEN.match(name):
                raise ValueError(f"{name!r} is not a header name (letters, digits and !#$%&'*+.^_`|~-)")
            if name.lower() in _RESERVED:
                raise ValueError(f"{name!r} is set by greenflag (the route, the synthetic tag, framing)")
            if any(c in text for c in "\r\n\0"):
                raise ValueError(f"the value of {name!r} has a line break or a NUL")
        return value

    @field_validator("duration")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("expected a positive duration such as 20s, or while_analysing")
        return value

    @model_validator(mode="after")
    def _source(self) -> AnalysisTrafficSpec:
        if (self.urls is None) == (self.journeys is None):
            raise ValueError("give exactly one of urls (paths to GET in turn) or journeys (a scenario file)")
        if self.urls is not None and 2 * self.rate > self.max_rate:
            raise ValueError(
                f"rate {self.rate:g} to each of the canary and the stable is {2 * self.rate:g} requests per second, "
                f"above max_rate {self.max_rate:g}"
            )
        return self

    @property
    def while_analysing(self) -> bool:
        return self.duration is None


class DetectSpec(Model):
    """The faults whose time to detect `rollout plan` estimates: an error rate that much above the stable's, every
    request that much slower. Defaults: the error-rate margin, and twice the latency margin (the latency test
    only calls a canary slower by more than the margin)."""

    error_rate: Annotated[float | None, BeforeValidator(_fraction)] = Field(None, gt=0, lt=1)
    latency_ms: float | None = Field(None, gt=0)


def check_judge(traffic: AnalysisTrafficSpec | None, router_kind: str) -> None:
    """`judge: user` or `synthetic` needs a router that counts analysis traffic apart (ValidationError at
    analysis.traffic.judge otherwise): HAProxy and nginx see tagged and untagged requests as one."""
    if traffic is None or traffic.judge == "both" or router_kind in TAGGING_KINDS:
        return
    message = (
        "router.kind {kind} cannot count analysis traffic apart from users' (only {kinds} can): "
        "use judge: both (every request, analysis traffic included)"
    )
    error = PydanticCustomError(
        "judge_needs_tagging", message, {"kind": router_kind, "kinds": ", ".join(sorted(TAGGING_KINDS))}
    )
    details = [InitErrorDetails(type=error, loc=("analysis", "traffic", "judge"), input=traffic.judge)]
    raise ValidationError.from_exception_data("Spec", details)
