"""The release spec (greenflag.yaml) as pydantic models. Unknown keys are errors everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, PrivateAttr, Tag, model_validator

from greenflag.units import parse_duration

__all__ = [
    "AnalysisSpec",
    "AnalysisStep",
    "BlueGreenSpec",
    "CanarySpec",
    "Duration",
    "HealthSpec",
    "HookCommand",
    "HooksSpec",
    "MetricSpec",
    "NotificationSpec",
    "PauseStep",
    "PlatformSpec",
    "PresetName",
    "ProbeSpec",
    "RouterSpec",
    "SetWeightStep",
    "Spec",
    "Step",
    "StrategySpec",
]


Duration = Annotated[float, BeforeValidator(parse_duration)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RouterSpec(Model):
    kind: Literal["embedded", "haproxy", "nginx", "alb", "kubernetes"] = "embedded"
    listen: str = "127.0.0.1:8000"
    admin: str = "127.0.0.1:8001"
    admin_token_file: str = ".greenflag/token"
    backends: dict[str, str] = Field(default_factory=dict)
    weights: dict[str, int] = Field(default_factory=dict)
    sticky: bool = False
    route_header: str = "X-Greenflag-Route"
    drain_timeout: Duration = 30.0
    connect_timeout: Duration = 2.0
    header_timeout: Duration = 10.0
    # Driver-specific settings (haproxy socket, nginx paths, ALB listener ARN, ...) for later drivers.
    options: dict[str, Any] = Field(default_factory=dict)


class PlatformSpec(Model):
    kind: Literal["process"] = "process"
    command: str = "greenflag demo-app --port {port} --version {version}"
    instances: int = Field(1, ge=1, le=64)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    stop_grace: Duration = 10.0
    start_timeout: Duration = 60.0


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


class SetWeightStep(Model):
    set_weight: int = Field(ge=0, le=100)


class PauseBody(Model):
    duration: Duration | None = None  # None = wait for `rollout promote`


class PauseStep(Model):
    pause: PauseBody = Field(default_factory=PauseBody)


class AnalysisBody(Model):
    duration: Duration | None = None
    metrics: list[str] | None = None  # names from analysis.metrics; None = all


class AnalysisStep(Model):
    analysis: AnalysisBody = Field(default_factory=AnalysisBody)


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for kind in ("set_weight", "pause", "analysis"):
            if kind in value:
                return kind
        return None
    for kind, model in (("set_weight", SetWeightStep), ("pause", PauseStep), ("analysis", AnalysisStep)):
        if isinstance(value, model):
            return kind
    return None


Step = Annotated[
    Annotated[SetWeightStep, Tag("set_weight")]
    | Annotated[PauseStep, Tag("pause")]
    | Annotated[AnalysisStep, Tag("analysis")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step is one of set_weight: N, pause: {duration}, analysis: {duration}",
    ),
]


# AWS CodeDeploy's predefined deployment configurations (names and meaning: greenflag.rollout.presets)
PresetName = Literal[
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
    "AllAtOnce",
]


class CanarySpec(Model):
    steps: list[Step] | None = None
    preset: PresetName | None = None
    background_analysis: bool = True
    abort_scale_down_delay: Duration = 5.0

    @model_validator(mode="after")
    def _steps_or_preset(self) -> CanarySpec:
        if (self.steps is None) == (self.preset is None):
            raise ValueError("give either steps or preset")
        return self


class BlueGreenSpec(Model):
    pre_promotion_analysis: AnalysisBody | None = None
    post_promotion_analysis: AnalysisBody | None = None
    auto_promote: bool = True
    scale_down_delay: Duration = 30.0
    abort_scale_down_delay: Duration = 5.0


class StrategySpec(Model):
    canary: CanarySpec | None = None
    blue_green: BlueGreenSpec | None = None

    @model_validator(mode="after")
    def _one(self) -> StrategySpec:
        if (self.canary is None) == (self.blue_green is None):
            raise ValueError("give exactly one of canary or blue_green")
        return self


class MetricSpec(Model):
    name: str
    provider: Literal["router", "prometheus", "http_json", "cloudwatch"] = "router"
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


class HookCommand(Model):
    run: str
    timeout: Duration = 300.0


def _hook_list(value: Any) -> Any:
    if isinstance(value, str):
        return [{"run": value}]
    if isinstance(value, list):
        return [{"run": v} if isinstance(v, str) else v for v in value]
    return value


HookList = Annotated[list[HookCommand], BeforeValidator(_hook_list)]


class HooksSpec(Model):
    before_install: HookList = Field(default_factory=list)
    after_install: HookList = Field(default_factory=list)
    after_allow_test_traffic: HookList = Field(default_factory=list)
    before_allow_traffic: HookList = Field(default_factory=list)
    after_allow_traffic: HookList = Field(default_factory=list)
    on_rollback: HookList = Field(default_factory=list)


class NotificationSpec(Model):
    webhook: str
    events: list[str] = Field(default_factory=lambda: ["rollout_completed", "rollout_aborted"])
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = 5.0


class LoadSpec(Model):
    scenario: str | None = None
    host: str | None = None
    vus: int = Field(10, ge=1)
    duration: Duration = 30.0
    rate: float | None = None
    thresholds: dict[str, list[str]] = Field(default_factory=dict)


class Spec(Model):
    model_config = ConfigDict(extra="forbid", frozen=False)

    service: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    router: RouterSpec = Field(default_factory=RouterSpec)
    platform: PlatformSpec = Field(default_factory=PlatformSpec)
    health: HealthSpec = Field(default_factory=HealthSpec)
    strategy: StrategySpec
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)
    hooks: HooksSpec = Field(default_factory=HooksSpec)
    notifications: list[NotificationSpec] = Field(default_factory=list)
    readiness: dict[str, Any] = Field(default_factory=dict)
    load: LoadSpec | None = None
    state_dir: str = ".greenflag"

    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        return self._source

    @source.setter
    def source(self, value: Path | None) -> None:
        self._source = value
