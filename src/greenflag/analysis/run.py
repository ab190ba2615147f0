"""An analysis run against live sources (I/O shell around the pure conditions, verdicts and comparisons).

`AnalysisRun.tick()` queries every metric that is due, judges each observation and returns the new
measurements; `verdict` is the run's verdict so far. `greenflag analysis run` and the rollout controller both
drive it. With `analysis.defaults` the built-in rules (`defaults.py`) apply, judged statistically against the stable:
`error_rate` (> 1 % absolute, or worse than stable + margin) and `latency` (p95 > 3 s absolute, or slower than
stable + margin); a failed health gate, reported with `observe_gate`, fails the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from greenflag.analysis.builtin import builtin_measurement
from greenflag.analysis.conditions import Condition, ConditionError, parse_condition
from greenflag.analysis.defaults import (
    BUILTIN_ERROR_RATE,
    BUILTIN_LATENCY,
    builtin_metrics,
)
from greenflag.analysis.providers.base import MetricProvider, Observation
from greenflag.analysis.verdicts import (
    Measurement,
    Track,
    Verdict,
    measure,
    run_verdict,
)
from greenflag.clock import Clock
from greenflag.errors import ConfigError
from greenflag.spec import AnalysisSpec, MetricSpec
from greenflag.traffic.base import RouterStats

__all__ = ["AnalysisRun", "build_providers", "summary"]


def build_providers(spec: AnalysisSpec, *, router: RouterStats | None = None) -> dict[str, MetricProvider]:
    """One provider per configured metric (by name) plus `router` when a router reports stats."""
    from greenflag.analysis.providers.registry import create_provider
    from greenflag.analysis.providers.router import RouterProvider

    providers: dict[str, MetricProvider] = {}
    if router is not None:
        providers["router"] = RouterProvider(router)
    for i, metric in enumerate(spec.metrics):
        providers[metric.name] = create_provider(metric, router=router, where=f"analysis.metrics[{i}]")
    return providers


def _parse(metric: MetricSpec, where: str) -> tuple[Condition | None, Condition | None]:
    out: list[Condition | None] = []
    for key in ("success_condition", "failure_condition"):
        text = getattr(metric, key)
        try:
            out.append(parse_condition(text) if text else None)
        except ConditionError as exc:
            raise ConfigError(f"{where}.{key}: {text!r}: {exc}") from None
    return out[0], out[1]


class AnalysisRun:
    """Measure `canary` (and compare with `stable`) until a verdict. Never raises for provider failures."""

    def __init__(
        self,
        spec: AnalysisSpec,
        providers: Mapping[str, MetricProvider],
        canary: str,
        stable: str | None,
        clock: Clock,
        *,
        metrics: Sequence[str] | None = None,
        started_at: float | None = None,
        looks: int = 0,
        latency: bool = True,
    ) -> None:
        """`started_at` (the clock's monotonic time; default now) and `looks` (latency measurements already
        taken) resume a run another process began: the canary's window still starts at `started_at`. Without
        `latency` (the router does not time requests: `router.times_requests`) the built-in latency rule is off."""
        self.spec = spec
        self.providers = dict(providers)
        self.canary = canary
        self.stable = stable
        self.clock = clock
        self.started_at = clock.monotonic() if started_at is None else started_at
        self.notes: list[str] = []
        self.measurements: list[Measurement] = []
        self._tracks: dict[str, Track] = {}
        self._looks = looks
        self._add_tracks(metrics, latency)

    def _add_tracks(self, only: Sequence[str] | None, latency: bool) -> None:
        user = {m.name for m in self.spec.metrics}
        if self.spec.defaults:
            if "router" in self.providers:
                for metric in builtin_metrics(latency=latency):
                    if metric.name not in user:
                        self._add(metric, builtin=True, where=f"built-in {metric.name}")
                if not latency and BUILTIN_LATENCY not in user:
                    self.notes.append("built-in latency rule skipped: the router's stats do not time requests "
                                      "(judge latency with a metric of analysis.metrics)")  # fmt: skip
            else:
                self.notes.append("built-in error_rate/latency rules skipped: no router reports per-backend stats")
        for i, metric in enumerate(self.spec.metrics):
            if only is not None and metric.name not in only:
                continue
            if metric.name not in self.providers and metric.provider not in self.providers:
                raise ConfigError(f"analysis.metrics[{i}]: no {metric.provider} provider available for {metric.name}")
            self._add(metric, builtin=False, where=f"analysis.metrics[{i}]")

    def _add(self, metric: MetricSpec, *, builtin: bool, where: str) -> None:
        interval = metric.interval if metric.interval is not None else self.spec.interval
        start = self.started_at + metric.initial_delay
        self._tracks[metric.name] = Track(metric, builtin, _parse(metric, where), max(interval, 0.01), start)

    # --- verdicts -------------------------------------------------------------------------------------------

    def metric_verdicts(self) -> dict[str, Verdict]:
        return {name: track.verdict for name, track in self._tracks.items()}

    @property
    def verdict(self) -> Verdict:
        return run_verdict(self.metric_verdicts().values())

    def _undecided(self) -> list[Track]:
        """Running metrics without evidence (`has_evidence`): no decision to show when the run's time is up."""
        return [track for track in self._tracks.values() if track.undecided()]

    def final_verdict(self) -> Verdict:
        """The verdict when the run's time is up: metrics still running count as Successful only with evidence (their
        latest measurement Successful, or their count complete); otherwise the run is Inconclusive."""
        verdict = self.verdict
        if verdict is not Verdict.RUNNING:
            return verdict
        return Verdict.INCONCLUSIVE if self._undecided() else Verdict.SUCCESSFUL

    def reason(self) -> str | None:
        """Why the run is not Successful: the deciding measurement's message (names metric, value and limit), or
        for an Inconclusive end, what each undecided metric last said (e.g. "≈40 more clean requests needed")."""
        verdict = self.verdict
        for track in self._tracks.values():
            if track.verdict is verdict and verdict not in (Verdict.SUCCESSFUL, Verdict.RUNNING):
                bad = [m for m in track.measurements if m.verdict is verdict]
                return (bad or track.measurements)[-1].message
        if verdict is Verdict.RUNNING and (undecided := self._undecided()):
            said = [
                t.measurements[-1].message if t.measurements else f"{t.spec.name}: no measurement" for t in undecided
            ]
            return "not enough evidence: " + "; ".join(said)
        return None

    def next_due(self) -> float:
        """Monotonic time at which `tick()` next has work (now if something is due)."""
        running = [t.next_at for t in self._tracks.values() if not t.verdict.done and t.next_at != float("inf")]
        return min(running, default=self.clock.monotonic() + self.spec.interval)

    # --- I/O ------------------------------------------------------------------------------------------------

    def observe_gate(self, name: str, ok: bool, detail: str = "") -> Measurement:
        """Record a health gate's state; a failed gate fails the run (as an error rate above 1 % or a p95 above 3 s
        does)."""
        metric = f"health.{name}"
        if metric not in self._tracks:
            spec = MetricSpec(name=metric, provider="router", query="gate", consecutive_error_limit=0)
            self._tracks[metric] = Track(spec, True, (None, None), self.spec.interval, float("inf"))
        verdict = Verdict.SUCCESSFUL if ok else Verdict.FAILED
        text = f"{metric}: {'passing' if ok else 'failed'}" + (f" ({detail})" if detail else "")
        m = Measurement(metric, self.clock.monotonic(), ok, verdict, text, "gate passes")
        self._tracks[metric].measurements.append(m)
        self.measurements.append(m)
        return m

    async def tick(self) -> list[Measurement]:
        """Query every due metric (concurrently), judge, record and return the new measurements."""
        now = self.clock.monotonic()
        due = [t for t in self._tracks.values() if not t.verdict.done and t.next_at <= now]
        if not due:
            return []
        windows: dict[str, Awaitable[Observation]] = {}
        if any(t.builtin for t in due):
            windows = self._fetch_windows(now)
        jobs = [self._measure_builtin(t, windows, now) if t.builtin else self._measure(t, now) for t in due]
        results = await asyncio.gather(*jobs)
        for track, m in zip(due, results, strict=True):
            track.measurements.append(m)
            track.next_at = now + track.interval
            self.measurements.append(m)
        return list(results)

    async def run(
        self, duration_s: float | None, on_measurement: Callable[[Measurement], None] | None = None
    ) -> Verdict:
        """Tick until a verdict or until `duration_s` has passed; returns `final_verdict()`."""
        end = None if duration_s is None else self.started_at + duration_s
        while True:
            for m in await self.tick():
                if on_measurement is not None:
                    on_measurement(m)
            verdict = self.verdict
            now = self.clock.monotonic()
            if verdict.done or (end is not None and now >= end):
                return self.final_verdict()
            wake = self.next_due() if end is None else min(self.next_due(), end)
            await self.clock.sleep(max(0.0, wake - now))

    def _fetch_windows(self, now: float) -> dict[str, Awaitable[Observation]]:
        """The canary since the analysis started (a growing window); the stable over its whole lookback, and with
        analysis traffic also over the canary's window (`stable_now`: the concurrent, paired sample)."""
        provider = self.providers["router"]
        cfg = self.spec.compare
        span = min(max(now - self.started_at, self.spec.interval), cfg.max_window)
        jobs = {"canary": (self.canary, span)}
        if self.stable and cfg.enabled:
            jobs["stable"] = (self.stable, cfg.max_window)
            if self.spec.traffic is not None:
                jobs["stable_now"] = (self.stable, span)
        return {
            key: asyncio.ensure_future(provider.query("window", backend=name, window_s=w))
            for key, (name, w) in jobs.items()
        }

    async def _measure(self, track: Track, now: float) -> Measurement:
        metric = track.spec
        provider = self.providers.get(metric.name) or self.providers[metric.provider]
        window = metric.window if metric.window is not None else self.spec.window
        try:
            observation = await provider.query(metric.query, backend=self.canary, window_s=window)
        except Exception as exc:  # providers should not raise; if one does, it is an Error measurement
            observation = Observation(error=f"{type(exc).__name__}: {exc}")
        return measure(metric, observation, now, conditions=track.conditions)

    async def _measure_builtin(
        self, track: Track, windows: dict[str, Awaitable[Observation]], now: float
    ) -> Measurement:
        name = track.spec.name
        observed = {key: await job for key, job in windows.items()}
        canary_obs = observed["canary"]
        if not canary_obs.ok:
            return Measurement(name, now, None, Verdict.ERROR, f"{name}: {canary_obs.error}", "")
        stable, stable_now = (
            observed[k].value if k in observed and observed[k].ok else None for k in ("stable", "stable_now")
        )
        if name != BUILTIN_ERROR_RATE:
            self._looks += 1
        cfg, traffic = self.spec.compare, self.spec.judge
        return builtin_measurement(
            name, now, canary_obs.value, stable, cfg, look=self._looks, traffic=traffic, stable_now=stable_now
        )


def summary(run: AnalysisRun) -> dict[str, Any]:
    """A JSON-ready summary of an analysis run (used by `greenflag analysis run --json`)."""
    verdicts = run.metric_verdicts()
    return {
        "verdict": str(run.final_verdict()),
        "reason": run.reason(),
        "canary": run.canary,
        "stable": run.stable,
        "metrics": {name: str(v) for name, v in verdicts.items()},
        "notes": run.notes,
        "measurements": [m.to_dict() for m in run.measurements],
    }
