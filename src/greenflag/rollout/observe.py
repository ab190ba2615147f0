"""What the controller observes each tick (I/O): health gates through `greenflag.health`, analysis
measurements through `greenflag.analysis`.

- `HealthGates` probes a version's instances with `greenflag.health.probes.make_probe` and keeps one
  `greenflag.health.gate.Gate` (Kubernetes semantics) per (gate, version). Gates are caches: after a restart
  they start again (readiness must pass again; liveness needs `failure_threshold` failures again).
- `AnalysisRunner` drives one `greenflag.analysis.run.AnalysisRun` for the rollout's active analysis
  run (`Status.analysis_run`). The `AnalysisRun` is a cache too: a restarted controller opens a new one that starts
  at the run's journaled start (the router keeps 300 s of per-second stats, so the canary's window is
  recomputed from the same start) and resumes the latency test's look count; the verdict itself comes from the
  journaled counts (`rollout/runs.py`), never from the `AnalysisRun`'s memory.
- `VersionStats` presents the router's per-instance backends (`v2-0`, `v2-1`) as one backend per version.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

from greenflag.analysis.defaults import BUILTIN_LATENCY
from greenflag.analysis.run import AnalysisRun, build_providers
from greenflag.analysis.verdicts import Measurement, Verdict
from greenflag.clock import Clock
from greenflag.errors import GreenflagError
from greenflag.health.base import Probe, ProbeResult
from greenflag.health.gate import Gate
from greenflag.health.probes import make_probe
from greenflag.rollout.model import Status
from greenflag.rollout.runs import run_filter, run_metrics
from greenflag.spec import ProbeSpec, Spec
from greenflag.traffic.base import BackendWindow, Router, RouterStats

__all__ = ["DEFAULT_PROBE", "AnalysisRunner", "HealthGates", "VersionStats", "backend_names", "merge_windows"]

DEFAULT_PROBE = ProbeSpec(tcp=True, interval=0.2, timeout=1.0)  # no probe configured: a TCP connect


def backend_names(version: str, count: int) -> list[str]:
    """Router backend names of a version's instances: the version itself, or `version-i` for several."""
    return [version] if count == 1 else [f"{version}-{i}" for i in range(count)]


class HealthGates:
    """Readiness/liveness gates per version, probed when due (every instance; all must pass)."""

    def __init__(self, probes: Callable[[ProbeSpec], Probe] = make_probe) -> None:
        self._probes = probes
        self._gates: dict[tuple[str, str], Gate] = {}

    def forget(self, version: str | None = None) -> None:
        """Drop the gates of `version` (all gates when None): the next check starts a fresh gate."""
        self._gates = {k: g for k, g in self._gates.items() if version is not None and k[1] != version}

    def get(self, kind: str, version: str) -> Gate | None:
        return self._gates.get((kind, version))

    async def check(self, kind: str, spec: ProbeSpec | None, version: str, targets: list[str], now: float) -> Gate:
        """Probe `targets` if the gate is due at `now` (monotonic) and return the gate."""
        spec = spec or DEFAULT_PROBE
        gate = self._gates.get((kind, version)) or Gate.from_spec(spec, now)
        if gate.due(now):
            probe = self._probes(spec)
            results = await asyncio.gather(*(probe.check(target) for target in targets))
            bad = [r for r in results if not r.ok]
            if not targets:
                result = ProbeResult(False, 0.0, f"{version}: no running instances")
            else:
                result = ProbeResult(not bad, max(r.latency_s for r in results), (bad or results)[0].detail)
            gate = gate.observe(result, now)
        self._gates[(kind, version)] = gate
        return gate


def _percentile(buckets: list[tuple[float, int]], total: int, q: float) -> float | None:
    need = q / 100.0 * total
    seen = 0
    for bound, count in buckets:
        seen += count
        if seen >= need:
            return bound
    return buckets[-1][0] if buckets else None


def merge_windows(name: str, window_s: float, windows: list[BackendWindow]) -> BackendWindow:
    """One window from several instances' windows (counts and latency histograms add up exactly)."""
    if len(windows) == 1:
        return dataclasses.replace(windows[0], backend=name)
    responses: dict[str, int] = {}
    latency: dict[float, int] = {}
    for w in windows:
        for key, count in w.responses.items():
            responses[key] = responses.get(key, 0) + count
        for bound, count in w.latency_buckets:
            latency[bound] = latency.get(bound, 0) + count
    buckets = sorted(latency.items())
    timed = sum(latency.values())
    p50, p95, p99 = (_percentile(buckets, timed, q) if timed else None for q in (50.0, 95.0, 99.0))
    tagged = [w.synthetic for w in windows if w.synthetic is not None]  # the analysis traffic among them
    synthetic = merge_windows(name, window_s, tagged) if tagged else None
    return BackendWindow(
        backend=name,
        window_s=window_s,
        requests=sum(w.requests for w in windows),
        responses=responses,
        transport_errors=sum(w.transport_errors for w in windows),
        latency_buckets=tuple(buckets),
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        synthetic=synthetic,
    )


class VersionStats:
    """RouterStats by version: a version with several instances is the sum of its instance backends; a
    version with instances but no traffic yet has an empty window (not a missing backend)."""

    def __init__(self, router: RouterStats, instances: Callable[[], dict[str, int]]) -> None:
        self.router = router
        self.instances = instances

    async def stats(self, window_s: float) -> dict[str, BackendWindow]:
        window_s = min(max(window_s, 1.0), 300.0)  # routers keep per-second stats for 300 s
        windows = await self.router.stats(window_s)
        out = dict(windows)
        for version, count in self.instances().items():
            parts = [windows[n] for n in backend_names(version, count) if n in windows]
            out[version] = merge_windows(version, window_s, parts) if parts else BackendWindow(version, window_s)
        return out


class AnalysisRunner:
    """Measures the rollout's active analysis run with an `AnalysisRun` (opened per run, and again after a
    restart from the journaled start). Measurement times are wall-clock epochs, like the journal's."""

    def __init__(self, spec: Spec, router: Router, clock: Clock, instances: Callable[[], dict[str, int]]) -> None:
        self.spec = spec
        self.router = router
        self.clock = clock
        self.instances = instances
        self.analysis: AnalysisRun | None = None
        self._key: tuple[int, str, float] | None = None
        self._error: str | None = None
        self._error_due = 0.0

    def close(self) -> None:
        self.analysis, self._key, self._error = None, None, None

    async def measure(self, status: Status) -> tuple[str | None, tuple[Measurement, ...]]:
        """(run, new measurements) for `status`'s active run; (None, ()) when no run is active."""
        run = status.analysis_run
        state = status.analysis.get(run) if run is not None else None
        if run is None or state is None or status.aborted or status.terminal:
            self.close()
            return None, ()
        key = (status.rollout_id, run, float(state["started_at"]))
        if key != self._key:
            self._open(status, run, state)
            self._key = key
        if self.analysis is None:
            return run, self._errors(status)
        mono, wall = self.clock.monotonic(), self.clock.now().timestamp()
        measured = await self.analysis.tick()
        return run, tuple(dataclasses.replace(m, at=wall - (mono - m.at)) for m in measured)

    def _open(self, status: Status, run: str, state: dict[str, Any]) -> None:
        mono, wall = self.clock.monotonic(), self.clock.now().timestamp()
        started = mono - max(0.0, wall - float(state["started_at"]))
        looks = int(state.get("metrics", {}).get(BUILTIN_LATENCY, {}).get("measured", 0))
        stats = VersionStats(self.router, self.instances) if isinstance(self.router, RouterStats) else None
        stable = status.stable if status.stable and status.stable != status.version else None
        self.analysis, self._error, self._error_due = None, None, mono
        try:
            providers = build_providers(self.spec.analysis, router=stats)
            self.analysis = AnalysisRun(
                self.spec.analysis,
                providers,
                canary=status.version,
                stable=stable,
                clock=self.clock,
                metrics=run_filter(self.spec, status, run),
                started_at=started,
                looks=looks,
                latency=self.spec.router.times_requests,
            )
        except GreenflagError as exc:  # e.g. a router metric without a router that reports stats
            self._error = str(exc)

    def _errors(self, status: Status) -> tuple[Measurement, ...]:
        """The analysis run could not be opened: every metric of the run is an Error measurement, once per interval."""
        mono = self.clock.monotonic()
        if mono < self._error_due:
            return ()
        self._error_due = mono + self.spec.analysis.interval
        wall = self.clock.now().timestamp()
        metrics = run_metrics(self.spec, status)
        return tuple(Measurement(m.name, wall, None, Verdict.ERROR, f"{m.name}: {self._error}") for m in metrics)
