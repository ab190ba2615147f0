"""`strategy:` — canary steps (or a CodeDeploy preset) or blue-green, and the step models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from greenflag.spec.base import Duration, Model

__all__ = [
    "AnalysisBody",
    "AnalysisStep",
    "BlueGreenSpec",
    "CanarySpec",
    "PauseBody",
    "PauseStep",
    "PresetName",
    "SetWeightStep",
    "Step",
    "StrategySpec",
]


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

    @field_validator("steps")
    @classmethod
    def _some_steps(cls, steps: list[Step] | None) -> list[Step] | None:
        if steps is not None and not steps:
            raise ValueError(
                "needs at least one step, e.g. [{set_weight: 10}, {analysis: {duration: 30s}}, "
                "{set_weight: 100}] (or a preset)"
            )
        return steps

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
