"""A rollout's analysis runs, judged by `greenflag.analysis` (pure: no I/O, no clock).

A run is "step:N" (an analysis step: the built-in rules plus the step's `metrics:`, or every metric) or
"background" (a canary with traffic: the built-in rules plus every metric). The controller measures the
active run through `greenflag.analysis.run.AnalysisRun`; `decide` folds each measurement into the
run's journaled counts (`MetricCounts`) and takes the verdict from them (`counts_verdict`, `run_verdict`), so
a restarted controller reaches the same verdict. Journaled shape, in `Status.analysis[run]`:

    {"started_at": epoch, "metrics": {name: {count, successful, failed, inconclusive, errors,
                                             consecutive_errors, measured, last, last_bad}}}

`measured` counts every measurement, Running ones included (the latency test's looks); `last` and `last_bad`
(the latest Failed/Error/Inconclusive one) are measurement dicts that explain a verdict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from greenflag.analysis.defaults import builtin_metrics
from greenflag.analysis.verdicts import Measurement, MetricCounts, Verdict, counts_verdict, has_evidence, run_verdict
from greenflag.rollout.model import Status
from greenflag.rollout.plan import rollout_steps
from greenflag.spec import AnalysisStep, MetricSpec, Spec

__all__ = [
    "RunVerdict",
    "Undecided",
    "counts_of",
    "record",
    "run_complete",
    "run_filter",
    "run_metrics",
    "start_run",
    "undecided",
    "verdict_of",
]
__pure__ = True

_COUNT_FIELDS = tuple(f.name for f in dataclasses.fields(MetricCounts))
_BAD = (Verdict.FAILED, Verdict.ERROR, Verdict.INCONCLUSIVE)


def run_filter(spec: Spec, status: Status, run: str) -> list[str] | None:
    """The `metrics:` of the analysis step behind `run` (None: every metric)."""
    if not run.startswith("step:"):
        return None
    steps = rollout_steps(spec, status)
    index = int(run[5:])
    step = steps[index] if index < len(steps) else None
    return step.analysis.metrics if isinstance(step, AnalysisStep) else None


def run_metrics(spec: Spec, status: Status, run: str | None = None) -> list[MetricSpec]:
    """The metrics a run measures: the built-in rules (`analysis.defaults`; a metric of the same name replaces
    one) and the user's metrics the step's filter names."""
    run = run if run is not None else status.analysis_run
    if run is None:
        return []
    only = run_filter(spec, status, run)
    names = {m.name for m in spec.analysis.metrics}
    builtins = builtin_metrics(latency=spec.router.times_requests) if spec.analysis.defaults else []
    builtins = [m for m in builtins if m.name not in names]
    return builtins + [m for m in spec.analysis.metrics if only is None or m.name in only]


def start_run(status: Status, run: str, now: float) -> None:
    """Make `run` the active run (in place; its counts are kept if it ran before, e.g. background analysis
    resuming after an analysis step: its canary window still starts at its first start)."""
    status.analysis_run = run
    if run not in status.analysis:
        status.analysis[run] = {"started_at": now, "metrics": {}}


def counts_of(rec: dict[str, Any]) -> MetricCounts:
    return MetricCounts(**{name: int(rec.get(name, 0)) for name in _COUNT_FIELDS})


def record(status: Status, metrics: list[MetricSpec], m: Measurement) -> bool:
    """Fold one measurement of the active run into its counts (in place). Measurements of metrics the run does
    not measure, or that are already complete, are ignored (False)."""
    run = status.analysis_run
    spec = next((x for x in metrics if x.name == m.metric), None)
    if run is None or run not in status.analysis or spec is None:
        return False
    recs: dict[str, Any] = status.analysis[run].setdefault("metrics", {})
    rec = recs.get(m.metric, {})
    counts = counts_of(rec)
    if counts_verdict(spec, counts).done:
        return False
    new: dict[str, Any] = {**dataclasses.asdict(counts.add(m)), "measured": int(rec.get("measured", 0)) + 1}
    new["last"] = m.to_dict()
    bad = m.to_dict() if m.verdict in _BAD else rec.get("last_bad")
    if bad is not None:
        new["last_bad"] = bad
    recs[m.metric] = new
    return True


@dataclass(frozen=True)
class RunVerdict:
    verdict: Verdict
    metric: str | None = None
    measurement: Measurement | None = None  # the one that decided it (names value and limit)

    @property
    def message(self) -> str:
        if self.measurement is not None and self.measurement.message:
            return self.measurement.message
        return f"metric {self.metric}: {self.verdict}"

    @property
    def limit(self) -> str | None:
        return self.measurement.condition if self.measurement is not None else None

    @property
    def value(self) -> Any:
        return self.measurement.to_dict()["value"] if self.measurement is not None else None


def _metric_verdicts(spec: Spec, status: Status) -> list[tuple[MetricSpec, Verdict, dict[str, Any]]]:
    run = status.analysis_run
    recs: dict[str, Any] = status.analysis.get(run, {}).get("metrics", {}) if run is not None else {}
    out = []
    for metric in run_metrics(spec, status):
        rec = recs.get(metric.name, {})
        out.append((metric, counts_verdict(metric, counts_of(rec)), rec))
    return out


def verdict_of(spec: Spec, status: Status) -> RunVerdict:
    """The active run's verdict (worst metric wins), with the measurement that decided it."""
    judged = _metric_verdicts(spec, status)
    worst = run_verdict(v for _, v, _ in judged) if judged else Verdict.RUNNING
    for metric, v, rec in judged:
        if v is worst and v in _BAD:
            bad = rec.get("last_bad") or rec.get("last")
            return RunVerdict(v, metric.name, Measurement.from_dict(bad) if bad else None)
    return RunVerdict(worst)


@dataclass(frozen=True)
class Undecided:
    """A metric of a run that had no decision when the run had to end (`has_evidence` is false)."""

    metric: str
    said: str  # its last measurement's message ("≈40 more clean requests needed"), or that there was none
    evidence: dict[str, int]  # canary requests, errors, more_needed (built-in rules) or {"measurements": n}


def undecided(spec: Spec, status: Status, run: str) -> list[Undecided]:
    """The metrics of `run` without evidence from its journaled counts (empty: the run may pass)."""
    recs: dict[str, Any] = status.analysis.get(run, {}).get("metrics", {})
    out = []
    for metric in run_metrics(spec, status, run):
        rec = recs.get(metric.name, {})
        last = Measurement.from_dict(rec["last"]) if rec.get("last") else None
        if has_evidence(metric, counts_of(rec), last):
            continue
        said = last.message if last is not None and last.message else f"{metric.name}: no measurement"
        evidence = dict(last.evidence) if last is not None and last.evidence else {}
        evidence.setdefault("measurements", int(rec.get("measured", 0)))
        out.append(Undecided(metric.name, said, evidence))
    return out


def run_complete(spec: Spec, status: Status) -> bool:
    """Every metric of the active run has a `count` and has taken it (Argo: the run is Successful)."""
    judged = _metric_verdicts(spec, status)
    return bool(judged) and all(m.count is not None and v is Verdict.SUCCESSFUL for m, v, _ in judged)
