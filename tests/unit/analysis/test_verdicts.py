"""Verdict rules with Argo Rollouts' semantics: measurement judgement, limits, consecutive errors, run verdicts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from greenflag.analysis.providers.base import Observation
from greenflag.analysis.verdicts import Measurement, Verdict, measure, metric_verdict, run_verdict
from greenflag.spec import MetricSpec

S, F, I, E, R = Verdict.SUCCESSFUL, Verdict.FAILED, Verdict.INCONCLUSIVE, Verdict.ERROR, Verdict.RUNNING  # noqa: E741


def spec(**kw: Any) -> MetricSpec:
    return MetricSpec(name=kw.pop("name", "m"), query=kw.pop("query", "q"), **kw)


@pytest.mark.parametrize(
    ("success", "failure", "value", "expected"),
    [
        (None, None, 1.0, S),
        ("result < 1", None, 0.5, S),
        ("result < 1", None, 2.0, F),
        (None, "result > 1", 2.0, F),
        (None, "result > 1", 0.5, S),
        ("result < 1", "result > 2", 0.5, S),
        ("result < 1", "result > 2", 3.0, F),
        ("result < 1", "result > 2", 1.5, I),
        ("result < 5", "result > 2", 3.0, F),  # both met: failure wins
    ],
)
def test_measure(success: str | None, failure: str | None, value: float, expected: Verdict) -> None:
    m = measure(spec(success_condition=success, failure_condition=failure), Observation(value=value), 7.0)
    assert m.verdict is expected
    assert m.at == 7.0 and m.value == value and m.metric == "m"


def test_failure_names_metric_value_and_limit() -> None:
    m = measure(spec(name="error_rate", failure_condition="result > 0.01"), Observation(value=0.0523), 1.0)
    assert m.verdict is F
    assert "error_rate" in m.message and "0.0523" in m.message and "0.01" in m.message
    assert m.condition == "failure: result > 0.01"


def test_provider_error_and_evaluation_error_are_error_measurements() -> None:
    m = measure(spec(success_condition="result[0] < 1"), Observation(error="connection refused"), 1.0)
    assert m.verdict is E and "connection refused" in m.message
    m = measure(spec(success_condition="result[0] < 1"), Observation(value=[]), 1.0)
    assert m.verdict is E and "out of range" in m.message


def ms(*verdicts: Verdict) -> list[Measurement]:
    return [Measurement("m", float(i), 0.0, v) for i, v in enumerate(verdicts)]


@pytest.mark.parametrize(
    ("limits", "verdicts", "expected"),
    [
        ({}, [], R),
        ({}, [S, S], R),  # no count: runs until stopped
        ({}, [S, F], F),  # failure_limit 0: the first failure fails
        ({"failure_limit": 2}, [F, S, F], R),  # cumulative, not consecutive
        ({"failure_limit": 2}, [F, S, F, S, F], F),  # fails on the third (> limit), Argo's off-by-one documented
        ({"inconclusive_limit": 0}, [I], I),
        ({"inconclusive_limit": 1}, [I, S], R),
        ({"inconclusive_limit": 1}, [I, I], I),
        ({}, [E, E, E, E], R),  # consecutive_error_limit 4
        ({}, [E, E, E, E, E], E),
        ({}, [E, E, E, S, E, E, E, E], R),  # a good measurement resets the streak
        ({"consecutive_error_limit": 0}, [E], E),
        ({"count": 3}, [S, S], R),
        ({"count": 3}, [S, S, S], S),
        ({"count": 3}, [S, E, S], S),  # errors count as measurements
        ({"count": 2, "failure_limit": 1}, [F, S], S),
        ({"count": 2}, [R, R, S], R),  # undecided statistical measurements do not count
        ({"count": 3}, [S, F, S], F),
    ],
)
def test_metric_verdict(limits: dict[str, int], verdicts: list[Verdict], expected: Verdict) -> None:
    assert metric_verdict(spec(**limits), ms(*verdicts)) is expected


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([], S),
        ([S, S], S),
        ([S, R], R),
        ([R, I], I),
        ([I, E], E),
        ([E, F], F),
        ([F, S, R, I, E], F),
    ],
)
def test_run_verdict_worst_wins(verdicts: list[Verdict], expected: Verdict) -> None:
    assert run_verdict(verdicts) is expected


def test_inconclusive_pauses_failed_and_error_roll_back() -> None:
    assert not I.rolls_back and I.done
    assert F.rolls_back and E.rolls_back
    assert not R.done


def test_measurement_json_roundtrip() -> None:
    m = Measurement("latency", 12.5, {"p95": float("inf"), "v": [1, 2]}, F, "latency = 3500 > 3000", "result > 3000")
    data = json.loads(json.dumps(m.to_dict()))
    back = Measurement.from_dict(data)
    assert back.verdict is F and back.metric == "latency" and back.at == 12.5 and back.condition == "result > 3000"
    assert back.value == {"p95": "inf", "v": [1, 2]}
    plain = Measurement("x", 1.0, 0.5, S)
    assert Measurement.from_dict(json.loads(json.dumps(plain.to_dict()))) == plain
