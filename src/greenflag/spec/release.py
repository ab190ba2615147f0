"""`Spec`: the whole release spec (greenflag.yaml), one field per top-level section."""

from __future__ import annotations

from pathlib import Path

from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from greenflag.spec.analysis import AnalysisSpec
from greenflag.spec.base import Model
from greenflag.spec.cdn import CdnSpec
from greenflag.spec.health import HealthSpec
from greenflag.spec.hooks import HooksSpec, NotificationSpec
from greenflag.spec.load import LoadSpec
from greenflag.spec.migrations import MigrationsSpec
from greenflag.spec.platform import AnyPlatformSpec
from greenflag.spec.readiness import ReadinessSpec
from greenflag.spec.router import AnyRouterSpec, RouterSpec
from greenflag.spec.strategy import StrategySpec
from greenflag.spec.traffic import check_judge

__all__ = ["Spec"]


class Spec(Model):
    model_config = ConfigDict(extra="forbid", frozen=False)

    service: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    router: AnyRouterSpec = Field(default_factory=RouterSpec)
    platform: AnyPlatformSpec  # required: how each version runs (platform.kind, default process)
    health: HealthSpec = Field(default_factory=HealthSpec)
    strategy: StrategySpec
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)
    hooks: HooksSpec = Field(default_factory=HooksSpec)
    migrations: MigrationsSpec | None = None
    cdn: CdnSpec | None = None
    notifications: list[NotificationSpec] = Field(default_factory=list)
    readiness: ReadinessSpec = Field(default_factory=ReadinessSpec)
    load: LoadSpec | None = None
    state_dir: str = ".greenflag"

    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _judge_needs_tagging(self) -> Spec:
        check_judge(self.analysis.traffic, self.router.kind)  # analysis.traffic.judge: user/synthetic need tagging
        return self

    @property
    def source(self) -> Path | None:
        return self._source

    @source.setter
    def source(self, value: Path | None) -> None:
        self._source = value
