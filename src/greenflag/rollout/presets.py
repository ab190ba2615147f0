"""AWS CodeDeploy's predefined deployment configurations, by name and meaning, as greenflag steps.

- `CanaryXPercentNMinutes`: shift X % to the new version, wait N minutes, then shift the rest.
- `LinearXPercentEveryNMinutes`: shift X % more every N minutes until 100 %.
- `AllAtOnce`: shift everything at once.

Background analysis (if enabled) watches every step, so a failing version is rolled back during the waits.
"""

from __future__ import annotations

import re
from typing import get_args

from greenflag.spec import CanarySpec, PauseBody, PauseStep, PresetName, SetWeightStep, Step

__all__ = ["PRESETS", "canary_steps", "preset_steps"]
__pure__ = True

PRESETS: tuple[str, ...] = get_args(PresetName)

_CANARY = re.compile(r"^Canary(\d+)Percent(\d+)Minutes?$")
_LINEAR = re.compile(r"^Linear(\d+)PercentEvery(\d+)Minutes?$")


def _pause(seconds: float) -> PauseStep:
    return PauseStep(pause=PauseBody(duration=seconds))


def preset_steps(name: str) -> list[Step]:
    """The steps a CodeDeploy preset name stands for. Raises ValueError for an unknown name."""
    if name == "AllAtOnce":
        return [SetWeightStep(set_weight=100)]
    if match := _CANARY.match(name):
        percent, minutes = int(match.group(1)), int(match.group(2))
        return [SetWeightStep(set_weight=percent), _pause(minutes * 60.0), SetWeightStep(set_weight=100)]
    if match := _LINEAR.match(name):
        percent, minutes = int(match.group(1)), int(match.group(2))
        steps: list[Step] = []
        weight = percent
        while weight < 100:
            steps += [SetWeightStep(set_weight=weight), _pause(minutes * 60.0)]
            weight += percent
        steps.append(SetWeightStep(set_weight=100))
        return steps
    raise ValueError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}")


def canary_steps(spec: CanarySpec) -> list[Step]:
    """A canary spec's steps: its own, or its preset's."""
    if spec.steps is not None:
        return list(spec.steps)
    assert spec.preset is not None  # the spec validator guarantees one of the two
    return preset_steps(spec.preset)
