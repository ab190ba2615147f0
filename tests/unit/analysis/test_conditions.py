"""Conditions: the grammar, evaluation, and rejection of everything outside it (never eval)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenflag.analysis.conditions import ConditionError, EvaluationError, parse_condition

CASES: list[tuple[str, Any, bool]] = [
    ("result < 0.01", 0.005, True),
    ("result < 0.01", 0.02, False),
    ("result[0] < 0.01", [0.005], True),
    ("result[0] < 0.01", 0.005, True),  # a scalar behaves like a one-element vector
    ("result[-1] >= 3", [1, 2, 3], True),
    ("result <= 1e-2", 0.01, True),
    ("result == 5", 5, True),
    ("result != 5", 5, False),
    ("result.p95 > 3000", {"p95": 3500.0}, True),
    ('result["error rate"] > 0.1', {"error rate": 0.2}, True),
    ("len(result) == 0", [], True),
    ("len(result) > 0 and result[0] < 1", [0.5], True),
    ("len(result) > 0 && result[0] < 1", [], False),  # short-circuits: result[0] not evaluated
    ("result < 1 or result > 10", 11, True),
    ("result < 1 || result > 10", 5, False),
    ("not result > 1", 0, True),
    ("!(result > 1)", 2, False),
    ("(result > 1 or result < -1) and result != 5", -2, True),
    ("result - 0.5 > 1", 2, True),
    ("-result < 0", 2, True),
    ("result.ok == true", {"ok": True}, True),
    ("result.status == 'up'", {"status": "up"}, True),
    ("result[1].v > 0", [{"v": 0}, {"v": 1}], True),
]


@pytest.mark.parametrize(("text", "result", "expected"), CASES)
def test_evaluates(text: str, result: Any, expected: bool) -> None:
    assert parse_condition(text).evaluate(result) is expected


REJECTED: list[tuple[str, int]] = [
    ("", 1),
    ("result <", 9),
    ("result < 0.01 extra", 15),
    ("__import__('os')", 1),
    ("open('x')", 1),
    ("result.__class__ > 1", 7),  # '_' starts a name: attr parses, evaluation never reaches python attributes
    ("result ** 2", 8),
    ("result < 1 < 2", 12),
    ("(result < 1", 12),
    ("len result", 5),
    ("result; 1", 7),
    ("lambda: 1", 7),
    ("result @ 1", 8),
]


@pytest.mark.parametrize(("text", "column"), REJECTED)
def test_rejects_with_column(text: str, column: int) -> None:
    if text == "result.__class__ > 1":
        # accepted by the grammar, but it is a dictionary key lookup, never a Python attribute
        with pytest.raises(EvaluationError):
            parse_condition(text).evaluate(1.0)
        return
    with pytest.raises(ConditionError, match=rf"column {column}\b"):
        parse_condition(text)


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("result[0] < 1", []),  # empty vector
        ("result.p95 > 1", {"p50": 1}),
        ("result > 1", "text"),
        ("result > 1", None),
        ("result", 1.0),  # not a boolean
        ("len(result) > 1", 5),
        ("result > 1", float("nan")),
    ],
)
def test_evaluation_errors(text: str, result: Any) -> None:
    with pytest.raises(EvaluationError):
        parse_condition(text).evaluate(result)


@given(st.text(max_size=30))
def test_parser_never_crashes(text: str) -> None:
    try:
        cond = parse_condition(text)
    except ConditionError as exc:
        assert str(exc).startswith("column ")
        return
    with contextlib.suppress(EvaluationError):
        cond.evaluate(0.5)


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False, allow_infinity=False))
def test_comparison_matches_python(value: float, limit: float) -> None:
    cond = parse_condition(f"result > {limit!r}") if limit >= 0 else parse_condition(f"result > -{-limit!r}")
    assert cond.evaluate(value) is (value > limit)
