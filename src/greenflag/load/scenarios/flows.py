"""YAML scenario files (`greenflag load run journeys.yaml`): Artillery-like flows, validated with pydantic.

    config:
      host: http://127.0.0.1:8080          # --host overrides
      options: {vus: 20, duration: 30s, thresholds: {http_req_duration: ["p(95)<2000"]}}
      wait_time: {between: [0.5, 2]}       # or {constant: 1} / {pacing: 5}
      feeders: {contacts: {path: data/contacts.csv, mode: sequential}}
    flows:
      - name: contact
        weight: 2
        steps:
          - get: {url: /contact, capture: [{css: "input[name=csrf_token]", attr: value, as: token}]}
          - post: {url: /contact, form: {csrf_token: "{{ token }}", email: "{{ contacts.email }}"}}
          - think: 1

Every flow becomes a weighted task of one generated `User` class, run inside `step(flow name)`, so YAML journeys
get the same metrics, checks and engine as Python ones. The models are pure; `flowrun.load_yaml_flows` reads
the file, and its errors name the file, line and key path (exit 2).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from greenflag.units import parse_duration

__all__ = [
    "CaptureSpec",
    "CheckSpec",
    "FeederSpec",
    "FlowFile",
    "FlowSpec",
    "RequestSpec",
    "SSESpec",
    "StepSpec",
    "SubmitFormSpec",
]
__pure__ = True

_VAR = re.compile(r"^[A-Za-z_][\w.]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CaptureSpec(_Model):
    """Capture one value from a response into a variable (`as`): by JSON path, regex, CSS selector, header, or
    every field of a form (`as.field`)."""

    as_: str = Field(alias="as")
    json_path: str | None = Field(default=None, alias="json")
    regex: str | None = None
    group: int | None = None
    css: str | None = None
    attr: str | None = None
    header: str | None = None
    form: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CaptureSpec:
        sources = [k for k in ("json_path", "regex", "css", "header", "form") if getattr(self, k) is not None]
        if len(sources) != 1:
            raise ValueError("a capture needs exactly one of json, regex, css, header, form")
        if not _VAR.match(self.as_):
            raise ValueError(f"as: {self.as_!r} is not a variable name")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex: {exc}") from None
        return self


class CheckSpec(_Model):
    """One named check on a response: status, body text, a JSON path (exists or equals), a CSS selector."""

    name: str | None = None
    status: int | list[int] | None = None
    contains: str | None = None
    not_contains: str | None = None
    json_path: str | None = Field(default=None, alias="json")
    equals: Any = None
    css: str | None = None

    @model_validator(mode="after")
    def _something(self) -> CheckSpec:
        if all(getattr(self, k) is None for k in ("status", "contains", "not_contains", "json_path", "css")):
            raise ValueError("a check needs one of status, contains, not_contains, json, css")
        return self


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


T = TypeVar("T")
OneOrMany = Annotated[list[T], BeforeValidator(_one_or_many)]  # `check: {...}` reads as a one-item list


class RequestSpec(_Model):
    url: str
    name: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    form: dict[str, Any] | None = None
    body: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    follow_redirects: bool = True
    capture: OneOrMany[CaptureSpec] = Field(default_factory=list)
    check: OneOrMany[CheckSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_body(self) -> RequestSpec:
        if sum(x is not None for x in (self.json_body, self.form, self.body)) > 1:
            raise ValueError("use one of json, form, body")
        return self


class SubmitFormSpec(_Model):
    """Submit a form of the previous response (hidden inputs such as CSRF tokens kept), following the redirect."""

    selector: str = "form"
    fields: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None
    capture: OneOrMany[CaptureSpec] = Field(default_factory=list)
    check: OneOrMany[CheckSpec] = Field(default_factory=list)


class SSESpec(_Model):
    """Open a Server-Sent Events stream and read `events` events (each within `timeout`); a check counts them."""

    url: str
    name: str | None = None
    events: int = Field(default=1, ge=1, le=100_000)
    timeout: float = 10.0
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> float:
        return parse_duration(value)


class StepSpec(_Model):
    """Exactly one of: get, post, put, patch, delete (a request), submit_form, sse, think (seconds)."""

    get: RequestSpec | None = None
    post: RequestSpec | None = None
    put: RequestSpec | None = None
    patch: RequestSpec | None = None
    delete: RequestSpec | None = None
    submit_form: SubmitFormSpec | None = None
    sse: SSESpec | None = None
    think: float | None = None

    @field_validator("think", mode="before")
    @classmethod
    def _think(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> StepSpec:
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            kinds = ", ".join(type(self).model_fields)
            raise ValueError(f"a step is exactly one of {kinds} (got {', '.join(given) or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in type(self).model_fields if getattr(self, k) is not None)


class FlowSpec(_Model):
    name: str = Field(min_length=1, max_length=100)
    weight: int = Field(default=1, ge=1, le=1_000_000)
    steps: list[StepSpec] = Field(min_length=1)


class FeederSpec(_Model):
    path: str
    mode: Literal["sequential", "random", "unique", "per_vu"] = "sequential"


class WaitSpec(_Model):
    between: tuple[float, float] | None = None
    constant: float | None = None
    pacing: float | None = None

    @model_validator(mode="after")
    def _one(self) -> WaitSpec:
        given = [k for k in ("between", "constant", "pacing") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("wait_time is one of {between: [a, b]}, {constant: s}, {pacing: s}")
        if self.between is not None and not 0 <= self.between[0] <= self.between[1]:
            raise ValueError("between: expected [low, high] with 0 ≤ low ≤ high")
        return self


class ConfigSpec(_Model):
    host: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    wait_time: WaitSpec | None = None
    feeders: dict[str, FeederSpec] = Field(default_factory=dict)
    timeout: float = 60.0

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> float:
        return parse_duration(value)


class FlowFile(_Model):
    config: ConfigSpec = Field(default_factory=ConfigSpec)
    flows: list[FlowSpec] = Field(min_length=1)
    # k6's options.scenarios: NAME → {executor, its options, startTime, gracefulStop, tags, exec: FLOW | [FLOWS]},
    # checked by the load engine's options (engine/options.py)
    scenarios: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> FlowFile:
        names = [flow.name for flow in self.flows]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"flow names must be unique: {', '.join(duplicates)}")
        return self
