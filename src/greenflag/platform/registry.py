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
}


def make_platform(spec: Spec, journal: Any) -> Platform:
    """The platform `spec.platform.kind` names, journaling its instances in `journal` (a rollout Store)."""
    target = PLATFORMS.get(spec.platform.kind)
    if target is None:
        raise ConfigError(
            f"platform.kind: {spec.platform.kind!r} is not supported; expected one of {sorted(PLATFORMS)}"
        )
    module_name, _, factory_name = target.partition(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    platform: Platform = factory(spec.service, spec.platform, journal, log_dir=Path(spec.state_dir) / "logs")
    return platform
