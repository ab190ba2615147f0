"""Pure rollout helpers: presets and the phase table; the pure modules stay pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import greenflag.rollout as rollout_pkg
from greenflag.rollout.model import Phase
from greenflag.rollout.phases import TRANSITIONS, PhaseEvent, transition
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


@pytest.mark.parametrize(
    ("phase", "event", "expected"),
    [
        (Phase.HEALTHY, PhaseEvent.START, Phase.PROGRESSING),
        (Phase.PROGRESSING, PhaseEvent.PAUSE, Phase.PAUSED),
        (Phase.PAUSED, PhaseEvent.RESUME, Phase.PROGRESSING),
        (Phase.PAUSED, PhaseEvent.PROMOTED, Phase.HEALTHY),
        (Phase.PROGRESSING, PhaseEvent.ABORT, Phase.DEGRADED),
        (Phase.DEGRADED, PhaseEvent.ROLLED_BACK, Phase.ROLLED_BACK),
        (Phase.ROLLED_BACK, PhaseEvent.START, Phase.PROGRESSING),
    ],
)
def test_phase_table(phase: Phase, event: PhaseEvent, expected: Phase) -> None:
    assert transition(phase, event) is expected


def test_phase_table_refuses_what_it_does_not_list() -> None:
    with pytest.raises(ValueError, match="no transition"):
        transition(Phase.HEALTHY, PhaseEvent.ABORT)
    with pytest.raises(ValueError):
        transition(Phase.ROLLED_BACK, PhaseEvent.PROMOTED)
    assert all(isinstance(k[0], Phase) for k in TRANSITIONS)


PURE = ["model.py", "actions.py", "phases.py", "presets.py", "plan.py", "steps.py", "runs.py", "validate.py"]
FORBIDDEN = {"asyncio", "socket", "time", "aiohttp", "sqlite3", "subprocess", "os", "httpx", "ssl"}


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_do_no_io(module: str) -> None:
    path = Path(rollout_pkg.__file__).parent / module
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN
