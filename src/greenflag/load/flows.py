"""YAML scenario files (`greenflag load run journeys.yaml`): placeholder until the journeys work lands."""

from __future__ import annotations

from pathlib import Path

from greenflag.errors import UsageError
from greenflag.load.app import LoadedScenario

__all__ = ["load_yaml_flows"]


def load_yaml_flows(path: Path, *, host: str | None) -> LoadedScenario:
    raise UsageError(f"{path}: YAML scenarios are not supported yet")
