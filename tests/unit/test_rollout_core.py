"""Pure rollout helpers: presets, the phase table, conditions and verdicts; the pure modules stay pure."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import greenflag.rollout as rollout_pkg
from greenflag.rollout.judge import condition_holds, effective_metrics, measure, update_counters, verdict
from greenflag.rollout.model import MeasurementPhase, Phase
from greenflag.rollout.phases import TRANSITIONS, PhaseEvent, transition
from greenflag.rollout.presets import PRESETS, preset_steps
from greenflag.spec import AnalysisSpec, MetricSpec, PauseStep, SetWeightStep


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


@pytest.mark.parametrize(
    ("condition", "result", "expected"),
    [
        ("result > 0.01", 0.02, True),
        ("result > 0.01", 0.01, False),
        ("result <= 3000", 3000, True),
        ("result < 1 or result > 5", 6, True),
        ("result > 1 and result < 5", 6, False),
        ("not (result == 0)", 0, False),
        ("0.5 < result", 0.7, True),
    ],
)
def test_conditions(condition: str, result: float, expected: bool) -> None:
    assert condition_holds(condition, result) is expected


@pytest.mark.parametrize("bad", ["result >", "result ~ 3", "__import__('os')", "result > 1 extra"])
def test_bad_conditions_are_errors_not_eval(bad: str) -> None:
    with pytest.raises(ValueError):
        condition_holds(bad, 1.0)


def test_measure_follows_argo_rules() -> None:
    both = MetricSpec(name="m", query="q", success_condition="result < 1", failure_condition="result > 5")
    assert measure(both, 0.5, 0).phase is MeasurementPhase.SUCCESSFUL
    assert measure(both, 3, 0).phase is MeasurementPhase.INCONCLUSIVE
    assert measure(both, 6, 0).phase is MeasurementPhase.FAILED
    only_success = MetricSpec(name="m", query="q", success_condition="result < 1")
    assert measure(only_success, 3, 0).phase is MeasurementPhase.FAILED
    assert measure(both, None, 0, "boom").phase is MeasurementPhase.ERROR


def test_verdict_is_the_worst_metric_and_counts_consecutive_errors() -> None:
    metrics = [
        MetricSpec(name="a", query="q", failure_condition="result > 1", consecutive_error_limit=2),
        MetricSpec(name="b", query="q", failure_condition="result > 1"),
    ]
    counters: dict[str, dict[str, Any]] = {}
    for _ in range(2):
        counters = update_counters(counters, measure(metrics[0], None, 0, "down"))
    assert verdict(metrics, counters).phase is None
    counters = update_counters(counters, measure(metrics[0], None, 0, "down"))
    assert verdict(metrics, counters).phase is MeasurementPhase.ERROR
    counters = update_counters(counters, measure(metrics[1], 2.0, 0))
    v = verdict(metrics, counters)
    assert (v.phase, v.metric, v.value, v.limit) == (MeasurementPhase.FAILED, "b", 2.0, "result > 1")


def test_default_rules_apply_when_no_metrics_are_given() -> None:
    names = [m.name for m in effective_metrics(AnalysisSpec())]
    assert names == ["error-rate", "p95"]
    assert effective_metrics(AnalysisSpec(defaults=False)) == []


PURE = ["model.py", "actions.py", "phases.py", "presets.py", "plan.py", "steps.py", "judge.py"]
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
