"""The release spec (greenflag.yaml) as pydantic models. Unknown keys are errors everywhere.

One module per section, re-exported here, so `from greenflag.spec import Spec, RouterSpec` is the import to use:
`base` (Model, Duration, Size), `router` (one model per router kind; `RouterSpec` is the embedded router's),
`platform` (one model per kind, with `platform_base` and `platform_kube`), `health`, `strategy` (steps, canary,
blue-green, presets), `analysis`, `hooks` (hooks and notifications), `migrations`, `cdn`, `load`, `readiness`
(the checklist), and `release` (`Spec`, the whole file). Loading a file, with errors naming file, line and key
path, is `greenflag.config.load_spec`.
"""

from __future__ import annotations

from greenflag.spec.analysis import AlarmsSpec, AnalysisSpec, CompareSpec, MetricSpec
from greenflag.spec.base import VERSION_PATTERN, Duration, Model, Size, check_version, differences
from greenflag.spec.cdn import CdnSpec, CloudFrontSpec, PurgeSpec
from greenflag.spec.health import HealthSpec, ProbeSpec
from greenflag.spec.hooks import HookCommand, HookList, HooksSpec, NotificationSpec
from greenflag.spec.load import LoadSpec
from greenflag.spec.migrations import Argv, CommandSpec, GuardSpec, MigrationsSpec
from greenflag.spec.platform import (
    AnyPlatformSpec,
    CommandPlatformSpec,
    KubernetesPlatformSpec,
    PlatformBase,
    PlatformSpec,
    SlotSpec,
    SlotsPlatformSpec,
)
from greenflag.spec.readiness import ReadinessSpec
from greenflag.spec.release import Spec
from greenflag.spec.router import (
    AlbRouterSpec,
    AnyRouterSpec,
    HAProxyRouterSpec,
    KubernetesRouterSpec,
    NginxRouterSpec,
    RouterBase,
    RouterSpec,
)
from greenflag.spec.strategy import (
    AnalysisBody,
    AnalysisStep,
    BlueGreenSpec,
    CanarySpec,
    PauseBody,
    PauseStep,
    PresetName,
    SetWeightStep,
    Step,
    StrategySpec,
)

__all__ = [
    "VERSION_PATTERN",
    "AlarmsSpec",
    "AlbRouterSpec",
    "AnalysisBody",
    "AnalysisSpec",
    "AnalysisStep",
    "AnyPlatformSpec",
    "AnyRouterSpec",
    "Argv",
    "BlueGreenSpec",
    "CanarySpec",
    "CdnSpec",
    "CloudFrontSpec",
    "CommandPlatformSpec",
    "CommandSpec",
    "CompareSpec",
    "Duration",
    "GuardSpec",
    "HAProxyRouterSpec",
    "HealthSpec",
    "HookCommand",
    "HookList",
    "HooksSpec",
    "KubernetesPlatformSpec",
    "KubernetesRouterSpec",
    "LoadSpec",
    "MetricSpec",
    "MigrationsSpec",
    "Model",
    "NginxRouterSpec",
    "NotificationSpec",
    "PauseBody",
    "PauseStep",
    "PlatformBase",
    "PlatformSpec",
    "PresetName",
    "ProbeSpec",
    "PurgeSpec",
    "ReadinessSpec",
    "RouterBase",
    "RouterSpec",
    "SetWeightStep",
    "Size",
    "SlotSpec",
    "SlotsPlatformSpec",
    "Spec",
    "Step",
    "StrategySpec",
    "check_version",
    "differences",
]
