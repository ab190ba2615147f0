"""Analysis traffic (I/O): greenflag's own load engine sends synthetic requests to the canary and to the stable at
the same rate while they are analysed, so the comparison is paired and does not wait for users.

Every request goes through the router with its route header naming the backend (`X-Greenflag-Route: v2`) and,
when the router counts analysis traffic apart (`SyntheticTagging`: the embedded router), its synthetic tag
(`X-Greenflag-Synthetic: KEY`), which also makes the router honour the name while a header route is pinned.
Without tagging (HAProxy, nginx) a pinned header route would send every request carrying the header to the
canary, so the stable's share goes without the route header and follows the weights.

Bounded: one open-model run (`constant-arrival-rate`) per backend, `rate` iterations per second per version
(split over its instances), all sharing one token bucket of `max_rate` requests per second; `stop()` ends every
run at once (requests in flight are cut off); the runs are tasks of the caller's event loop, so they end with
its process.

    traffic = AnalysisTraffic(spec.analysis.traffic, router_url="http://127.0.0.1:8000", route_header=...,
                              tag=router.synthetic_tag(), targets={"canary": ["v2"], "stable": ["v1"]})
    traffic.start()
    ...
    await traffic.stop()
    traffic.counts()          # {"v2": {"requests": 512, "failed": 25}, "v1": {...}}
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from greenflag.errors import ConfigError, UsageError
from greenflag.load.engine import schedules as sch
from greenflag.load.engine.executors import RunState, Scenario, run_plan
from greenflag.load.http.head import Target, parse_target
from greenflag.load.metrics.series import Registry
from greenflag.load.scenarios.journey import SessionOptions
from greenflag.load.scenarios.paths import PathListScenario
from greenflag.spec.traffic import AnalysisTrafficSpec

__all__ = ["AnalysisTraffic", "Throttle", "check_journeys"]

FOREVER_S = 7 * 24 * 3600.0  # `while_analysing`: the run is stopped by its owner, never by its own clock


class Throttle:
    """A token bucket shared by every request of the analysis traffic: at most `rate` per second (bursts of a
    tenth of a second's worth)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(1.0, rate / 10.0)
        self.tokens = self.burst
        self.last = time.monotonic()
        self.waited = 0  # requests that had to wait for the cap

    async def __call__(self) -> None:
        waited = False
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                self.waited += waited
                return
            waited = True
            await asyncio.sleep((1.0 - self.tokens) / self.rate)


def _journeys_path(spec: AnalysisTrafficSpec, base_dir: Path | None) -> Path:
    assert spec.journeys is not None
    path = Path(spec.journeys)
    return path if path.is_absolute() or base_dir is None else base_dir / path


def _load_journeys(spec: AnalysisTrafficSpec, base_dir: Path | None, host: str) -> Any:
    path = _journeys_path(spec, base_dir)
    if not path.exists():
        raise ConfigError(f"analysis.traffic.journeys: {path}: no such file")
    if path.suffix == ".py":
        from greenflag.load.scenarios.script import load_python

        return load_python(path, host=host)
    if path.suffix in (".yaml", ".yml"):
        from greenflag.load.scenarios.flowrun import load_yaml_flows

        return load_yaml_flows(path, host=host)
    raise ConfigError(f"analysis.traffic.journeys: {path}: expected a .py or .yaml scenario file")


def check_journeys(spec: AnalysisTrafficSpec | None, base_dir: Path | None) -> None:
    """ConfigError (exit 2) when `analysis.traffic.journeys` cannot be loaded: checked before any traffic."""
    if spec is None or spec.journeys is None:
        return
    try:
        _load_journeys(spec, base_dir, "http://127.0.0.1:1")
    except UsageError as exc:
        raise ConfigError(f"analysis.traffic.journeys: {exc}") from None


class _Run:
    """One backend's open-model run."""

    def __init__(self, backend: str, role: str, rate: float, scenario: Scenario, registry: Registry) -> None:
        self.backend, self.role, self.rate = backend, role, rate
        self.registry = registry
        self.state = RunState(registry, graceful_stop=0.0)
        self.scenario = scenario
        self.task: asyncio.Task[None] | None = None

    def totals(self) -> dict[str, int]:
        totals = self.registry.http_totals()
        return {"requests": int(totals["reqs"]), "failed": int(totals["failed"])}


class AnalysisTraffic:
    """Paired synthetic load to named backends through a router (see the module's docstring)."""

    def __init__(
        self,
        spec: AnalysisTrafficSpec,
        *,
        router_url: str,
        route_header: str,
        tag: tuple[str, str] | None,
        targets: Mapping[str, Sequence[str]],
        duration_s: float | None = None,
        base_dir: Path | None = None,
    ) -> None:
        """`targets`: role (`canary`, `stable`) → the router's backend names of that version's instances;
        `duration_s`: how long to send (None: until stopped)."""
        self.spec = spec
        self.router_url = router_url
        self.route_header = route_header
        self.tag = tag
        self.targets = {role: list(names) for role, names in targets.items() if names}
        self.duration_s = duration_s
        self.base_dir = base_dir
        self.throttle = Throttle(spec.max_rate)
        self.runs: list[_Run] = []
        self.started_at: float | None = None
        self.stopped = False

    def _headers(self, backend: str, role: str) -> tuple[tuple[str, str], ...]:
        headers = list(self.spec.headers.items())
        if self.tag is not None:
            headers += [(self.route_header, backend), self.tag]
        elif role != "stable":  # without tagging a pinned header route would take the stable's requests too
            headers.append((self.route_header, backend))
        return tuple(headers)

    def _scenario(self, base: Target, registry: Registry, session: SessionOptions) -> Scenario:
        if self.spec.urls is not None:
            return PathListScenario(base, self.spec.urls, registry, timeout=self.spec.timeout, session=session)
        loaded = _load_journeys(self.spec, self.base_dir, self.router_url)
        scenario: Scenario = loaded.make_scenario(registry, session)
        return scenario

    def start(self) -> None:
        """Start one run per backend (idempotent). Raises ConfigError when the journeys cannot be loaded."""
        if self.runs or self.stopped:
            return
        base = parse_target(self.router_url)
        for role, names in self.targets.items():
            rate = self.spec.rate / len(names)
            for name in names:
                registry = Registry(start=time.perf_counter())
                session: SessionOptions = (self._headers(name, role), self.throttle)
                self.runs.append(_Run(name, role, rate, self._scenario(base, registry, session), registry))
        self.started_at = time.monotonic()
        for run in self.runs:
            run.task = asyncio.ensure_future(self._drive(run))

    async def _drive(self, run: _Run) -> None:
        duration = FOREVER_S if self.duration_s is None else max(0.001, self.duration_s)
        vus = max(1, math.ceil(run.rate))
        plan = sch.ConstantArrivalRate(run.rate, duration, vus, max(vus, min(1000, vus * 20)))
        folder = asyncio.ensure_future(self._fold(run))
        try:
            await run_plan(plan, run.scenario, run.state)
        finally:
            folder.cancel()
            run.registry.fold()

    async def _fold(self, run: _Run) -> None:
        while True:  # the histograms' raw values are folded once a second, as the load runner does
            await asyncio.sleep(1.0)
            run.registry.fold()

    @property
    def running(self) -> bool:
        return any(run.task is not None and not run.task.done() for run in self.runs)

    async def stop(self, reason: str = "stopped") -> None:
        """End every run now: no request starts after this; those in flight are cut off (bounded: 10 s)."""
        self.stopped = True
        for run in self.runs:
            run.state.abort(reason)
            run.state.hurry.set()
        tasks = [run.task for run in self.runs if run.task is not None and not run.task.done()]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=10.0)
            for task in late:
                task.cancel()
        for run in self.runs:
            if run.task is not None and run.task.done() and not run.task.cancelled():
                with contextlib.suppress(Exception):
                    run.task.result()

    def counts(self) -> dict[str, dict[str, int]]:
        """Requests sent and failed (status ≥ 400 or a transport error), per backend."""
        out: dict[str, dict[str, int]] = {}
        for run in self.runs:
            totals = run.totals()
            prev = out.setdefault(run.backend, {"requests": 0, "failed": 0})
            prev["requests"] += totals["requests"]
            prev["failed"] += totals["failed"]
        return out

    def describe(self) -> str:
        """One line for the journal: rate, targets, route and judgement."""
        spec = self.spec
        source = ", ".join(spec.urls) if spec.urls is not None else f"journeys {spec.journeys}"
        versions = " and ".join(f"the {role} ({', '.join(names)})" for role, names in self.targets.items())
        how = "tagged, by route header" if self.tag is not None else "untagged (the router cannot tell it apart)"
        until = "while analysing" if self.duration_s is None else f"for {self.duration_s:g}s"
        return (
            f"analysis traffic: {spec.rate:g}/s to each of {versions} ({source}; {how}; judge {spec.judge}; "
            f"cap {spec.max_rate:g} req/s) {until}"
        )
