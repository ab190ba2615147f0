"""k6-syntax thresholds, parsed once before the run and evaluated on snapshots (pure).

`METRIC[{tag:value,...}]: EXPR` where EXPR is `AGG OP NUMBER`, AGG one of p(N), avg, med, min, max, rate,
count, value and OP one of < <= > >= == !=. Object form: {threshold, abort_on_fail, delay_abort_eval}
(camelCase accepted too, as in k6).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from greenflag.units import parse_duration

__all__ = [
    "Outcome",
    "Threshold",
    "ThresholdError",
    "evaluate",
    "metric_key",
    "parse_cli_threshold",
    "parse_metric",
    "parse_thresholds",
]
__pure__ = True

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_EXPR = re.compile(
    r"^\s*(p\(\s*(\d+(?:\.\d+)?)\s*\)|avg|med|min|max|rate|count|value)\s*(<=|>=|==|!=|<|>)\s*"
    r"(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$"
)
_METRIC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:\{([^{}]*)\})?\s*$")


class ThresholdError(ValueError):
    """A threshold that cannot be parsed; the message says what is expected."""


def parse_metric(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """'http_req_duration{name:home,method:GET}' → ('http_req_duration', (('method','GET'),('name','home')))."""
    match = _METRIC.match(text)
    if not match:
        raise ThresholdError(f"{text!r} is not a metric name like http_req_duration or http_req_duration{{name:home}}")
    tags: list[tuple[str, str]] = []
    if match.group(2) is not None:
        for part in match.group(2).split(","):
            key, sep, value = part.partition(":")
            if not sep or not key.strip():
                raise ThresholdError(f"{text!r}: a tag filter is {{key:value}}, got {part.strip()!r}")
            tags.append((key.strip(), value.strip()))
    return match.group(1), tuple(sorted(tags))


def metric_key(name: str, tags: tuple[tuple[str, str], ...]) -> str:
    if not tags:
        return name
    return name + "{" + ",".join(f"{k}:{v}" for k, v in tags) + "}"


@dataclass(frozen=True)
class Threshold:
    metric: str
    tags: tuple[tuple[str, str], ...]
    source: str  # the expression as written, e.g. "p(95)<2000"
    aggregation: str  # "p(95)" normalised, "avg", ...
    op: str
    limit: float
    abort_on_fail: bool = False
    delay_abort_eval: float = 0.0
    percentile: float | None = field(default=None)

    @property
    def key(self) -> str:
        return metric_key(self.metric, self.tags)

    def passes(self, value: float) -> bool:
        return _OPS[self.op](value, self.limit)


def _parse_expr(metric: str, expr: str) -> tuple[str, float | None, str, float]:
    match = _EXPR.match(expr)
    if not match:
        raise ThresholdError(
            f"{metric}: {expr!r} is not a threshold; expected AGG OP NUMBER such as p(95)<2000, avg<500, "
            "rate<0.01 or count>0 (AGG: p(N), avg, med, min, max, rate, count, value)"
        )
    agg, pct, op, limit = match.groups()
    percentile = None
    if pct is not None:
        percentile = float(pct)
        if not 0 <= percentile <= 100:
            raise ThresholdError(f"{metric}: p({pct}) is outside 0..100")
        agg = f"p({pct})"
    return agg, percentile, op, float(limit)


def _parse_one(metric_text: str, item: Any) -> Threshold:
    name, tags = parse_metric(metric_text)
    abort = False
    delay = 0.0
    if isinstance(item, Mapping):
        unknown = set(item) - {"threshold", "abort_on_fail", "abortOnFail", "delay_abort_eval", "delayAbortEval"}
        if unknown or "threshold" not in item:
            raise ThresholdError(
                f"{metric_text}: an object threshold has keys threshold, abort_on_fail, delay_abort_eval"
                + (f" (unknown: {', '.join(sorted(map(str, unknown)))})" if unknown else "")
            )
        expr = item["threshold"]
        abort = item.get("abort_on_fail", item.get("abortOnFail", False))
        if not isinstance(abort, bool):
            raise ThresholdError(f"{metric_text}: abort_on_fail: expected true or false, got {abort!r}")
        delay_text = item.get("delay_abort_eval", item.get("delayAbortEval", 0))
        try:
            delay = parse_duration(delay_text)
        except ValueError as exc:
            raise ThresholdError(f"{metric_text}: delay_abort_eval: {exc}") from None
    else:
        expr = item
    if not isinstance(expr, str):
        raise ThresholdError(f"{metric_text}: expected a string such as 'p(95)<2000', got {expr!r}")
    agg, percentile, op, limit = _parse_expr(metric_text, expr)
    return Threshold(name, tags, expr.strip(), agg, op, limit, abort, delay, percentile)


def parse_thresholds(spec: Mapping[str, Any]) -> list[Threshold]:
    """{'http_req_duration': ['p(95)<2000'], 'http_req_failed': 'rate<0.01'} → thresholds."""
    out: list[Threshold] = []
    for metric_text, items in spec.items():
        if not isinstance(metric_text, str):
            raise ThresholdError(f"{metric_text!r}: a metric name is a string such as 'http_req_duration'")
        for item in items if isinstance(items, list) else [items]:
            out.append(_parse_one(metric_text, item))
    return out


def parse_cli_threshold(text: str) -> Threshold:
    """'http_req_duration: p(95)<2000' or 'http_req_duration{name:home}: p(95)<2000'."""
    depth = 0
    for index, char in enumerate(text):
        depth += char == "{"
        depth -= char == "}"
        if char == ":" and depth == 0:
            return _parse_one(text[:index], text[index + 1 :])
    raise ThresholdError(f"{text!r}: expected 'METRIC: EXPR' such as 'http_req_duration: p(95)<2000'")


@dataclass(frozen=True)
class Outcome:
    threshold: Threshold
    value: float | None  # None: the metric had no data (passes, as in k6)
    ok: bool


def evaluate(thresholds: list[Threshold], aggregate: Callable[[Threshold], float | None]) -> list[Outcome]:
    """Evaluate thresholds; `aggregate(threshold)` reads the threshold's aggregation from a snapshot."""
    outcomes = []
    for threshold in thresholds:
        value = aggregate(threshold)
        ok = True if value is None else threshold.passes(value)
        outcomes.append(Outcome(threshold, value, ok))
    return outcomes
