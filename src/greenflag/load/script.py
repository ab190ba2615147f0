"""Python scenario files (`greenflag load run journeys.py`): placeholder until the journeys work lands."""

from __future__ import annotations

from pathlib import Path

from greenflag.errors import UsageError
from greenflag.load.app import LoadedScenario

__all__ = ["load_python"]


def load_python(path: Path, *, host: str | None) -> LoadedScenario:
    raise UsageError(f"{path}: Python scenarios are not supported yet")
