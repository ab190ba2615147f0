"""Platform registry: `platform.kind` → "module:factory", imported lazily."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from greenflag.errors import ConfigError
from greenflag.platform.base import Platform
from greenflag.spec import Spec

__all__ = ["PLATFORMS", "make_platform"]

PLATFORMS = {
    "process": "greenflag.platform.process:ProcessPlatform",
    "slots": "greenflag.platform.slots:SlotsPlatform",
    "command": "greenflag.platform.command:CommandPlatform",
    "kubernetes": "greenflag.platform.kubernetes:make_kubernetes_platform",
}


def make_platform(spec: Spec, journal: Any, *, slot_targets: Any = None) -> Platform:
    """The platform `spec.platform.kind` names, journaling in `journal` (a rollout Store). `slot_targets` registers
    the slots' targets with the load balancer in front of them (a `platform.slots.SlotTargets`, for router.kind
    alb); only the slots platform takes it."""
    target = PLATFORMS.get(spec.platform.kind)
    if target is None:
        raise ConfigError(
            f"platform.kind: {spec.platform.kind!r} is not supported; expected one of {sorted(PLATFORMS)}"
        )
    module_name, _, factory_name = target.partition(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    options: dict[str, Any] = {"log_dir": Path(spec.state_dir) / "logs"}
    if spec.platform.kind == "slots":
        options["targets"] = slot_targets
    if spec.platform.kind == "kubernetes" and spec.source is not None:
        options["base_dir"] = spec.source.parent
    platform: Platform = factory(spec.service, spec.platform, journal, **options)
    return platform
