"""Measurements and verdicts with Argo Rollouts' semantics (pure).

- A measurement is Successful, Failed, Inconclusive or Error (Running = a statistical test has not decided yet).
- A metric fails when `failed > failure_limit` (cumulative), is inconclusive when `inconclusive >
  inconclusive_limit`, errors when `consecutive errors > consecutive_error_limit`; with `count` it completes
  after `count` measurements.
- A run takes the worst metric verdict: Failed > Error > Inconclusive > Running > Successful. Failed and Error
  roll back; Inconclusive pauses for a human.
- When a run's time is up, a metric still Running counts only if it has evidence (`has_evidence`: its count is
  complete, or its latest measurement was Successful); without it the run ends Inconclusive, never passed.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from greenflag.analysis.conditions import Condition, EvaluationError, parse_condition
from greenflag.analysis.providers.base import Observation
from greenflag.spec import MetricSpec

__all__ = [
    "Measurement",
    "MetricCounts",
    "Track",
    "Verdict",
    "counts_verdict",
    "format_value",
    "has_evidence",
    "measure",
    "metric_verdict",
    "run_verdict",
]
__pure__ = True


class Verdict(enum.StrEnum):
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"

    @property
    def done(self) -> bool:
        return self is not Verdict.RUNNING

    @property
    def rolls_back(self) -> bool:
        return self in (Verdict.FAILED, Verdict.ERROR)


_RANK = {Verdict.SUCCESSFUL: 0, Verdict.RUNNING: 1, Verdict.INCONCLUSIVE: 2, Verdict.ERROR: 3, Verdict.FAILED: 4}


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


@dataclass(frozen=True)
class Measurement:
    """One judged observation: what was measured, when, the value, the verdict and why."""

    metric: str
    at: float  # seconds (the session clock's monotonic time, or a wall timestamp chosen by the caller)
    value: Any
    verdict: Verdict
    message: str = ""
    condition: str = ""
    # how much evidence a statistical measurement had: canary requests (and errors) seen, requests still needed
    evidence: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "metric": self.metric,
            "at": self.at,
            "value": _jsonable(self.value),
            "verdict": str(self.verdict),
            "message": self.message,
            "condition": self.condition,
        }
        if self.evidence is not None:
            out["evidence"] = dict(self.evidence)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        return cls(
            metric=str(data["metric"]),
            at=float(data["at"]),
            value=data.get("value"),
            verdict=Verdict(data["verdict"]),
            message=str(data.get("message", "")),
            condition=str(data.get("condition", "")),
            evidence={str(k): int(v) for k, v in data["evidence"].items()} if data.get("evidence") else None,
        )


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple) and len(value) <= 4:
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _conditions(spec: MetricSpec) -> tuple[Condition | None, Condition | None]:
    success = parse_condition(spec.success_condition) if spec.success_condition else None
    failure = parse_condition(spec.failure_condition) if spec.failure_condition else None
    return success, failure


def measure(
    metric_spec: MetricSpec,
    observation: Observation,
    at: float,
    *,
    conditions: tuple[Condition | None, Condition | None] | None = None,
) -> Measurement:
    """Judge one observation. `conditions` (success, failure) may be passed pre-parsed; else they are parsed here.

    Argo's rules: failure wins; only a success condition → not met is Failed; only a failure condition → not met is
    Successful; both and neither met → Inconclusive; no conditions → Successful. Errors never raise.
    """
    name = metric_spec.name
    success, failure = conditions if conditions is not None else _conditions(metric_spec)
    text = " / ".join(f"{k}: {c.text}" for k, c in (("success", success), ("failure", failure)) if c is not None)
    if not observation.ok:
        return Measurement(name, at, None, Verdict.ERROR, f"{name}: {observation.error}", text)
    value = observation.value
    shown = format_value(value)
    try:
        succeeded = success.evaluate(value) if success is not None else None
        failed = failure.evaluate(value) if failure is not None else None
    except EvaluationError as exc:
        return Measurement(name, at, value, Verdict.ERROR, f"{name} = {shown}: cannot evaluate: {exc}", text)
    if failed:
        assert failure is not None
        return Measurement(name, at, value, Verdict.FAILED, f"{name} = {shown} meets failure condition {failure}", text)
    if succeeded is False and failure is None:
        assert success is not None
        msg = f"{name} = {shown} does not meet success condition {success}"
        return Measurement(name, at, value, Verdict.FAILED, msg, text)
    if succeeded is False:
        msg = f"{name} = {shown} meets neither success nor failure condition"
        return Measurement(name, at, value, Verdict.INCONCLUSIVE, msg, text)
    return Measurement(name, at, value, Verdict.SUCCESSFUL, f"{name} = {shown} ok", text)


@dataclass(frozen=True)
class MetricCounts:
    """A metric's measurement counts (Running measurements are not counted): all a verdict depends on.

    Fold measurements one at a time with `add` and judge with `counts_verdict`; the rollout controller journals
    these instead of every measurement.
    """

    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    errors: int = 0
    consecutive_errors: int = 0

    def add(self, m: Measurement) -> MetricCounts:
        """The counts after one more measurement (a new object)."""
        if m.verdict is Verdict.RUNNING:
            return self
        if m.verdict is Verdict.ERROR:
            return replace(
                self, count=self.count + 1, errors=self.errors + 1, consecutive_errors=self.consecutive_errors + 1
            )
        field = {Verdict.SUCCESSFUL: "successful", Verdict.FAILED: "failed", Verdict.INCONCLUSIVE: "inconclusive"}
        name = field[m.verdict]
        return replace(self, count=self.count + 1, consecutive_errors=0, **{name: getattr(self, name) + 1})


def counts_verdict(metric_spec: MetricSpec, c: MetricCounts) -> Verdict:
    """The metric's verdict from its counts (Running until a limit is crossed or `count` measurements are in)."""
    if c.failed > metric_spec.failure_limit:
        return Verdict.FAILED
    if c.inconclusive > metric_spec.inconclusive_limit:
        return Verdict.INCONCLUSIVE
    if c.consecutive_errors > metric_spec.consecutive_error_limit:
        return Verdict.ERROR
    if metric_spec.count is not None and c.count >= metric_spec.count:
        return Verdict.SUCCESSFUL
    return Verdict.RUNNING


def has_evidence(metric_spec: MetricSpec, counts: MetricCounts, last: Measurement | None) -> bool:
    """Whether a metric decided anything by the time its analysis ends: its `count` is complete, or its latest
    measurement was Successful. No measurement, a statistical test still Running ("N more requests needed"), or an
    Error / Inconclusive measurement within its limits is not evidence: such an analysis ends Inconclusive."""
    verdict = counts_verdict(metric_spec, counts)
    if verdict is not Verdict.RUNNING:
        return verdict is Verdict.SUCCESSFUL
    return last is not None and last.verdict is Verdict.SUCCESSFUL


def metric_verdict(metric_spec: MetricSpec, measurements: Sequence[Measurement]) -> Verdict:
    """The metric's verdict so far (Running until a limit is crossed or `count` measurements are in)."""
    counts = MetricCounts()
    for m in measurements:
        counts = counts.add(m)
    return counts_verdict(metric_spec, counts)


def run_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """Worst wins (Failed > Error > Inconclusive > Running > Successful); no metrics → Successful."""
    worst = Verdict.SUCCESSFUL
    for v in verdicts:
        if _RANK[v] > _RANK[worst]:
            worst = v
    return worst


@dataclass
class Track:
    """One metric of a running analysis (live or replayed): its conditions, when it is next measured, and its
    measurements so far."""

    spec: MetricSpec
    builtin: bool
    conditions: tuple[Condition | None, Condition | None]
    interval: float
    next_at: float
    measurements: list[Measurement] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return metric_verdict(self.spec, self.measurements)

    def undecided(self) -> bool:
        """Running without evidence (`has_evidence`): no decision to show when the run's time is up."""
        counts = MetricCounts()
        for m in self.measurements:
            counts = counts.add(m)
        last = self.measurements[-1] if self.measurements else None
        return self.verdict is Verdict.RUNNING and not has_evidence(self.spec, counts, last)
