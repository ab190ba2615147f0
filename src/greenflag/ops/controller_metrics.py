"""The rollout controller's Prometheus series (the `controller` rows of greenflag.ops.metric_names), served by
`greenflag up` on the router admin endpoint's `GET /metrics`, beside the router's own series: one scrape target,
one bearer token.

A prometheus-client custom collector that reads the journal at scrape time (a few SQLite reads; nothing on the
controller's tick). Counters count what happened since this controller started: rollbacks and promotions of
rollouts that ended after it started, and analysis measurements taken after it started (the measurements already
journaled when it started are its baseline).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from greenflag.ops.metric_names import (
    ANALYSIS_MEASUREMENTS,
    ANALYSIS_VERDICT,
    CONTROLLER_LAST_TICK,
    ROLLOUT_INFO,
    ROLLOUT_PHASE,
    ROLLOUT_PHASES,
    ROLLOUT_PROMOTIONS,
    ROLLOUT_ROLLBACKS,
    ROLLOUT_STEP,
    ROLLOUT_STEPS,
    ROLLOUT_WEIGHT,
    THRESHOLD_OK,
    VERDICTS,
    Metric,
)
from greenflag.rollout.model import Phase, Status
from greenflag.rollout.plan import rollout_steps
from greenflag.rollout.store import Store
from greenflag.spec import Spec

__all__ = ["ControllerCollector", "controller_collector"]

_HISTORY = 20  # rollouts looked at per scrape: more than can end between two scrapes
# the journal's per-run counts per verdict (Running measurements are `measured` minus the others)
_COUNT_FIELDS = {"Successful": "successful", "Failed": "failed", "Inconclusive": "inconclusive", "Error": "errors"}


def _verdict_counts(rec: dict[str, Any]) -> dict[str, int]:
    counts = {verdict: int(rec.get(field, 0)) for verdict, field in _COUNT_FIELDS.items()}
    counts["Running"] = max(0, int(rec.get("measured", 0)) - sum(counts.values()))
    return counts


class ControllerCollector:
    def __init__(self, spec: Spec, store: Store, *, last_tick: Callable[[], float | None]) -> None:
        self.spec = spec
        self.store = store
        self.last_tick = last_tick
        self.service = spec.service
        history = store.history(self.service, _HISTORY)
        self._ended_before = {s.rollout_id for s in history if s.terminal}
        self._counted: set[int] = set()
        self.rollbacks = 0
        self.promotions = 0
        self._seen: dict[tuple[int, str, str], dict[str, int]] = {}
        self.measurements: dict[tuple[str, str], int] = {}
        for status in history:  # the baseline: measurements journaled before this controller started
            self._fold(status, count=False)

    def _fold(self, status: Status, *, count: bool = True) -> None:
        for run, state in status.analysis.items():
            for metric, rec in (state.get("metrics") or {}).items():
                now = _verdict_counts(rec)
                before = self._seen.get((status.rollout_id, run, metric), {})
                self._seen[(status.rollout_id, run, metric)] = now
                if not count:
                    continue
                for verdict, value in now.items():
                    delta = value - before.get(verdict, 0)
                    if delta > 0:
                        key = (metric, verdict)
                        self.measurements[key] = self.measurements.get(key, 0) + delta

    def _update(self) -> Status | None:
        history = self.store.history(self.service, _HISTORY)
        for status in reversed(history):  # oldest first
            self._fold(status)
            if status.terminal and status.rollout_id not in self._ended_before | self._counted:
                self._counted.add(status.rollout_id)
                if status.phase is Phase.ROLLED_BACK:
                    self.rollbacks += 1
                elif status.promoted:
                    self.promotions += 1
        return history[0] if history else None

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        def family(metric: Metric) -> Any:
            kind = CounterMetricFamily if metric.kind == "counter" else GaugeMetricFamily
            return kind(metric.name, metric.help, labels=list(metric.labels))

        latest = self._update()
        service = self.service
        info, phase, step, steps = (
            family(ROLLOUT_INFO),
            family(ROLLOUT_PHASE),
            family(ROLLOUT_STEP),
            family(ROLLOUT_STEPS),
        )
        weight, verdict = family(ROLLOUT_WEIGHT), family(ANALYSIS_VERDICT)
        if latest is not None:
            info.add_metric([service, latest.version, latest.stable or "", latest.strategy], 1)
            for name in ROLLOUT_PHASES:
                phase.add_metric([service, name], 1 if str(latest.phase) == name else 0)
            step.add_metric([service], latest.step)
            steps.add_metric([service], len(rollout_steps(self.spec, latest)))
            backends = set(latest.weights) | {latest.version} | ({latest.stable} if latest.stable else set())
            for backend in sorted(backends):  # the rolled-back (or replaced) version at 0, not gone
                weight.add_metric([service, backend], latest.weights.get(backend, 0))
            run = latest.analysis_run or next(reversed(latest.analysis), None)
            current = latest.analysis.get(run or "") or {}
            for metric, rec in sorted((current.get("metrics") or {}).items()):
                last = (rec.get("last") or {}).get("verdict")
                for name in VERDICTS:
                    verdict.add_metric([service, metric, name], 1 if last == name else 0)
        rollbacks, promotions = family(ROLLOUT_ROLLBACKS), family(ROLLOUT_PROMOTIONS)
        rollbacks.add_metric([service], self.rollbacks)
        promotions.add_metric([service], self.promotions)
        measurements = family(ANALYSIS_MEASUREMENTS)
        for (metric, name), value in sorted(self.measurements.items()):
            measurements.add_metric([service, metric, name], value)
        thresholds = family(THRESHOLD_OK)  # no samples: the controller runs no load thresholds of its own yet
        tick = family(CONTROLLER_LAST_TICK)
        last = self.last_tick()
        if last is not None:
            tick.add_metric([service], last)
        yield from (info, phase, step, steps, weight, rollbacks, promotions, verdict, measurements, thresholds, tick)


def controller_collector(up: Any) -> ControllerCollector:
    """For `Up(collectors=[controller_collector])`: the collector over a started `greenflag up`."""
    controller = up.controller
    return ControllerCollector(controller.spec, controller.store, last_tick=lambda: up.last_tick)
