"""Pure analysis judgement for rollouts: conditions, measurements and the run verdict.

A minimal stand-in seam for `greenflag.analysis` (verdicts, conditions): a metric value is held to its
`success_condition` / `failure_condition` (Argo's rules), and a run's verdict is the worst of its metrics.
No I/O here: values arrive from the controller (router stats today, any provider tomorrow).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from greenflag.rollout.model import Measurement, MeasurementPhase
from greenflag.spec import AnalysisSpec, MetricSpec

__all__ = ["Verdict", "condition_holds", "effective_metrics", "measure", "update_counters", "verdict"]

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(<=|>=|==|!=|<|>)|(\(|\))|([A-Za-z_]+))")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"condition {text!r}: unexpected text at {text[pos:]!r}")
        out.append(next(g for g in match.groups() if g is not None))
        pos = match.end()
    return out


class _Parser:
    """or_expr := and_expr ('or' and_expr)* ; and_expr := atom ('and' atom)* ;
    atom := 'not' atom | '(' or_expr ')' | operand OP operand ; operand := 'result' | number"""

    def __init__(self, tokens: list[str], result: float) -> None:
        self.tokens, self.pos, self.result = tokens, 0, result

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ValueError("condition ends too early")
        self.pos += 1
        return token

    def or_expr(self) -> bool:
        value = self.and_expr()
        while self.peek() == "or":
            self.take()
            value = self.and_expr() or value
        return value

    def and_expr(self) -> bool:
        value = self.atom()
        while self.peek() == "and":
            self.take()
            value = self.atom() and value
        return value

    def operand(self) -> float:
        token = self.take()
        if token == "result":
            return self.result
        try:
            return float(token)
        except ValueError:
            raise ValueError(f"expected 'result' or a number, got {token!r}") from None

    def atom(self) -> bool:
        if self.peek() == "not":
            self.take()
            return not self.atom()
        if self.peek() == "(":
            self.take()
            value = self.or_expr()
            if self.take() != ")":
                raise ValueError("expected ')'")
            return value
        left = self.operand()
        op = self.take()
        if op not in _OPS:
            raise ValueError(f"expected a comparison (<, <=, >, >=, ==, !=), got {op!r}")
        return _OPS[op](left, self.operand())


def condition_holds(condition: str, result: float) -> bool:
    """Evaluate e.g. 'result > 0.01 or result < 0' (never eval()). ValueError on bad syntax."""
    parser = _Parser(_tokens(condition), result)
    value = parser.or_expr()
    if parser.peek() is not None:
        raise ValueError(f"condition {condition!r}: unexpected {parser.peek()!r}")
    return value


def effective_metrics(spec: AnalysisSpec) -> list[MetricSpec]:
    """The spec's metrics, or the default rules (error rate > 1 %, p95 > 3 s) when it lists none."""
    if spec.metrics or not spec.defaults:
        return list(spec.metrics)
    return [
        MetricSpec(name="error-rate", provider="router", query="error_rate", failure_condition="result > 0.01"),
        MetricSpec(name="p95", provider="router", query="p95_ms", failure_condition="result > 3000"),
    ]


def measure(metric: MetricSpec, value: float | None, at: float, error: str | None = None) -> Measurement:
    """One measurement of `metric` (Argo's rules: failure condition first; unmet success condition fails
    when no failure condition is given, else is inconclusive)."""
    limit = metric.failure_condition or metric.success_condition or ""
    if error is not None or value is None:
        return Measurement(metric.name, MeasurementPhase.ERROR, None, limit, at, error or "no value")
    try:
        if metric.failure_condition and condition_holds(metric.failure_condition, value):
            return Measurement(metric.name, MeasurementPhase.FAILED, value, metric.failure_condition, at)
        if metric.success_condition and not condition_holds(metric.success_condition, value):
            phase = MeasurementPhase.INCONCLUSIVE if metric.failure_condition else MeasurementPhase.FAILED
            return Measurement(metric.name, phase, value, f"not ({metric.success_condition})", at)
    except ValueError as exc:
        return Measurement(metric.name, MeasurementPhase.ERROR, value, limit, at, str(exc))
    return Measurement(metric.name, MeasurementPhase.SUCCESSFUL, value, limit, at)


def update_counters(counters: dict[str, dict[str, Any]], m: Measurement) -> dict[str, dict[str, Any]]:
    """Fold one measurement into per-metric counters (a new dict; the input is not changed)."""
    old = counters.get(m.metric, {"count": 0, "failed": 0, "inconclusive": 0, "errors": 0, "consecutive_errors": 0})
    new = dict(old)
    new["count"] += 1
    new["last"] = m.value
    new["limit"] = m.limit
    if m.phase is MeasurementPhase.FAILED:
        new["failed"] += 1
    elif m.phase is MeasurementPhase.INCONCLUSIVE:
        new["inconclusive"] += 1
    if m.phase is MeasurementPhase.ERROR:
        new["errors"] += 1
        new["consecutive_errors"] += 1
        new["last_error"] = m.detail
    else:
        new["consecutive_errors"] = 0
    return {**counters, m.metric: new}


@dataclass(frozen=True)
class Verdict:
    phase: MeasurementPhase | None  # None: running (nothing decided)
    metric: str | None = None
    value: Any = None
    limit: str | None = None

    @property
    def message(self) -> str:
        if self.phase is None or self.metric is None:
            return "analysis running"
        value = f"{self.value:.4g}" if isinstance(self.value, float) else self.value
        return f"metric {self.metric} {self.phase.lower()}: value {value} against {self.limit}"


def verdict(metrics: list[MetricSpec], counters: dict[str, dict[str, Any]]) -> Verdict:
    """The worst metric verdict: Failed > Error > Inconclusive > running."""
    found: dict[MeasurementPhase, Verdict] = {}
    for metric in metrics:
        c = counters.get(metric.name)
        if c is None:
            continue
        last, limit = c.get("last"), c.get("limit")
        if c["failed"] > metric.failure_limit:
            found.setdefault(MeasurementPhase.FAILED, Verdict(MeasurementPhase.FAILED, metric.name, last, limit))
        if metric.consecutive_error_limit and c["consecutive_errors"] > metric.consecutive_error_limit:
            detail = c.get("last_error", "error")
            found.setdefault(MeasurementPhase.ERROR, Verdict(MeasurementPhase.ERROR, metric.name, detail, limit))
        if c["inconclusive"] > metric.inconclusive_limit:
            v = Verdict(MeasurementPhase.INCONCLUSIVE, metric.name, last, limit)
            found.setdefault(MeasurementPhase.INCONCLUSIVE, v)
    for phase in (MeasurementPhase.FAILED, MeasurementPhase.ERROR, MeasurementPhase.INCONCLUSIVE):
        if phase in found:
            return found[phase]
    return Verdict(None)
