"""CodeDeploy-style presets (pure)."""

from __future__ import annotations

import pytest

from greenflag.rollout.presets import PRESETS, preset_steps
from greenflag.spec import PauseStep, SetWeightStep


@pytest.mark.parametrize(
    ("name", "weights", "pauses"),
    [
        ("AllAtOnce", [100], []),
        ("Canary10Percent5Minutes", [10, 100], [300.0]),
        ("Canary10Percent15Minutes", [10, 100], [900.0]),
        ("Linear10PercentEvery1Minute", [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], [60.0] * 9),
        ("Linear10PercentEvery3Minutes", [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], [180.0] * 9),
    ],
)
def test_presets_mean_what_codedeploy_means(name: str, weights: list[int], pauses: list[float]) -> None:
    steps = preset_steps(name)
    assert [s.set_weight for s in steps if isinstance(s, SetWeightStep)] == weights
    assert [s.pause.duration for s in steps if isinstance(s, PauseStep)] == pauses


def test_every_preset_resolves_and_unknown_names_fail() -> None:
    for name in PRESETS:
        assert preset_steps(name)
    with pytest.raises(ValueError, match="unknown preset"):
        preset_steps("Canary50Percent")
