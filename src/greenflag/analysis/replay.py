"""Replay an analysis over recorded router stats (pure): when, and on which rule, would it have decided?

`replay(spec, recording, canary=, stable=, start=, duration=)` runs one analysis run on an injected clock — looks
every `analysis.interval` from `start` (each metric's `interval` and `initial_delay` as live) — judging what the
recording holds at each look with the live analysis's own functions: the built-in rules through
`builtin.builtin_measurement` (the canary's window since the start, the stable's `compare.max_window` lookback,
`analysis.traffic.judge`), the `router` metrics of `analysis.metrics` through `verdicts.measure`. Metrics of other
providers (Prometheus, CloudWatch, …) have no data in a router recording: they are left out, and said so.

The recording has whole seconds, so a look at time t sees the seconds that ended by t, and looks fall exactly every
interval (live ones drift by the time each takes): a replay decides within about a second of the live analysis on
the same traffic. The run ends at the first verdict that ends a run
(Failed, Error, Inconclusive, or every counted metric complete), or at `start + duration` (default: the end of the
recording), where a metric still running passes only with evidence — as live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from greenflag.analysis.builtin import builtin_measurement
from greenflag.analysis.conditions import parse_condition
from greenflag.analysis.defaults import BUILTIN_ERROR_RATE, builtin_metrics
from greenflag.analysis.providers.base import Observation
from greenflag.analysis.providers.router import QUERIES, window_value
from greenflag.analysis.recording import Recording
from greenflag.analysis.verdicts import (
    Measurement,
    Track,
    Verdict,
    measure,
    run_verdict,
)
from greenflag.spec import AnalysisSpec

__all__ = ["Replay", "replay"]
__pure__ = True

MAX_LOOKS = 100_000


@dataclass(frozen=True)
class Replay:
    """What the analysis would have done: its verdict, when (Unix time, seconds after the start, and after the
    canary's first failing response), the rule and its message, and every measurement."""

    verdict: Verdict
    canary: str
    stable: str | None
    start: float
    end: float
    decided_at: float | None
    metric: str | None
    message: str | None
    first_error: float | None
    outcome: str  # what a rollout would have done: "rolled back", "paused", "promoted"
    measurements: tuple[Measurement, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        after = None if self.decided_at is None else round(self.decided_at - self.start, 3)
        since_error = None
        if self.decided_at is not None and self.first_error is not None:
            since_error = round(self.decided_at - self.first_error, 3)
        return {
            "verdict": str(self.verdict),
            "outcome": self.outcome,
            "canary": self.canary,
            "stable": self.stable,
            "start": self.start,
            "end": self.end,
            "decided_at": self.decided_at,
            "after_start_s": after,
            "after_first_error_s": since_error,
            "first_error": self.first_error,
            "metric": self.metric,
            "reason": self.message,
            "notes": list(self.notes),
        }


def _tracks(spec: AnalysisSpec, start: float, notes: list[str]) -> list[Track]:
    tracks: list[Track] = []
    user = {m.name for m in spec.metrics}
    if spec.defaults:
        for metric in builtin_metrics():
            if metric.name not in user:
                tracks.append(Track(metric, True, (None, None), max(spec.interval, 0.01), start))
    for metric in spec.metrics:
        if metric.provider != "router" or metric.query.strip() not in QUERIES:
            notes.append(f"{metric.name}: left out ({metric.provider} metrics are not in a router recording)")
            continue
        conditions = tuple(
            parse_condition(t) if t else None for t in (metric.success_condition, metric.failure_condition)
        )
        interval = metric.interval if metric.interval is not None else spec.interval
        tracks.append(
            Track(metric, False, (conditions[0], conditions[1]), max(interval, 0.01), start + metric.initial_delay)
        )
    return tracks


def _measure(
    spec: AnalysisSpec,
    rec: Recording,
    track: Track,
    canary: str,
    stable: str | None,
    start: float,
    t: float,
    look: int,
) -> Measurement:
    seen = math.floor(t)  # the seconds that ended by t
    if track.builtin:
        cfg = spec.compare
        first = max(math.floor(start), seen - math.floor(cfg.max_window))
        window = rec.window(canary, first, seen)
        base = rec.window(stable, seen - math.floor(cfg.max_window), seen) if stable and cfg.enabled else None
        now = rec.window(stable, first, seen) if stable and cfg.enabled and spec.traffic is not None else None
        return builtin_measurement(track.spec.name, t, window, base, cfg, look=look, traffic=spec.judge, stable_now=now)
    metric = track.spec
    span = metric.window if metric.window is not None else spec.window
    window = rec.window(canary, seen - max(1, round(span)), seen).part(str(metric.options.get("traffic", "both")))
    query = metric.query.strip()
    if query == "window":
        observation = Observation(value=window_value(window))
    else:
        value = getattr(window, query)
        if value is None:
            observation = Observation(
                error=f"router: {query} of {canary!r} is unknown: no requests in the last {span:g}s"
            )
        else:
            observation = Observation(value=int(value) if query in ("requests", "errors") else float(value))
    return measure(metric, observation, t, conditions=track.conditions)


def _outcome(verdict: Verdict, policy: str) -> str:
    if verdict.rolls_back:
        return "rolled back"
    if verdict is Verdict.INCONCLUSIVE:
        return {"rollback": "rolled back", "promote": "promoted"}.get(policy, "paused")
    return "promoted"


def replay(
    spec: AnalysisSpec,
    rec: Recording,
    *,
    canary: str,
    stable: str | None,
    start: float,
    duration: float | None = None,
) -> Replay:
    """Run the analysis over `rec` from Unix time `start` for `duration` seconds (None: to the recording's end)."""
    notes: list[str] = []
    end = start + duration if duration is not None else (rec.end or start)
    tracks = _tracks(spec, start, notes)
    measurements: list[Measurement] = []
    looks = 0
    t = start
    for _ in range(MAX_LOOKS):
        for track in tracks:
            if track.verdict.done or track.next_at > t + 1e-9:
                continue
            if track.builtin and track.spec.name != BUILTIN_ERROR_RATE:
                looks += 1
            m = _measure(spec, rec, track, canary, stable, start, t, looks)
            track.measurements.append(m)
            track.next_at = t + track.interval
            measurements.append(m)
        verdict = run_verdict(track.verdict for track in tracks) if tracks else Verdict.SUCCESSFUL
        if verdict.done or t >= end:
            break
        upcoming = [tr.next_at for tr in tracks if not tr.verdict.done]
        t = min(min(upcoming, default=end), end)
    verdict = run_verdict(track.verdict for track in tracks) if tracks else Verdict.SUCCESSFUL
    decided: Measurement | None = None
    if verdict is Verdict.RUNNING:
        undecided = [tr for tr in tracks if tr.undecided()]
        verdict = Verdict.INCONCLUSIVE if undecided else Verdict.SUCCESSFUL
        if undecided:
            said = [
                tr.measurements[-1].message if tr.measurements else f"{tr.spec.name}: no measurement"
                for tr in undecided
            ]
            message: str | None = "not enough evidence: " + "; ".join(said)
            decided_at: float | None = t
            metric: str | None = undecided[0].spec.name
        else:
            message, decided_at, metric = None, t, None
    else:
        for track in tracks:
            if track.verdict is verdict:
                bad = [m for m in track.measurements if m.verdict is verdict] or track.measurements
                decided = bad[-1] if bad else None
                break
        message = decided.message if decided is not None else None
        decided_at = decided.at if decided is not None else t
        metric = decided.metric if decided is not None else None
    traffic = spec.judge
    return Replay(
        verdict,
        canary,
        stable,
        start,
        end,
        decided_at,
        metric,
        message,
        rec.first_error(canary, traffic),
        _outcome(verdict, spec.on_inconclusive),
        tuple(measurements),
        tuple(notes),
    )
