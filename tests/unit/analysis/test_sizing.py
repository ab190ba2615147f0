"""The pre-rollout estimate of the time to detect a fault (pure): deterministic, moved by traffic the way the live
analysis is, and in agreement with the live `AnalysisRun` driven over the same simulated traffic."""

from __future__ import annotations

import asyncio
import statistics

import numpy as np
import pytest

from greenflag.analysis.compare import Sample
from greenflag.analysis.providers.router import RouterProvider
from greenflag.analysis.run import AnalysisRun
from greenflag.analysis.sizing import Facts, Window, fault_sizes, size
from greenflag.analysis.verdicts import Verdict
from greenflag.spec import AnalysisSpec
from greenflag.testing import FakeClock
from greenflag.traffic.base import BackendWindow

LATENCY = ((1.0, 500), (2.0, 1500), (3.0, 800), (5.0, 200))  # a stable's histogram: ms, count
BASELINE = Sample(3000, 0, LATENCY)
WINDOW = Window("step 1: analysis 20s at 20 %", 0.2, 20.0)


def spec(**analysis: object) -> AnalysisSpec:
    return AnalysisSpec.model_validate({"interval": "500ms", **analysis})


def test_the_estimate_is_deterministic_and_reports_both_faults() -> None:
    s = spec(traffic={"urls": ["/"], "rate": 50})
    facts = Facts(10.0, BASELINE, 300.0, "test")
    first = size(s, facts, [WINDOW])
    assert [d.to_json() for d in first] == [d.to_json() for d in size(s, facts, [WINDOW])]  # fixed seed
    assert [d.fault for d in first] == ["error rate +1 %", "latency +200 ms"]  # the defaults: margin, 2 × margin
    error, latency = first
    assert error.canary_rate == pytest.approx(52.0) and error.users_rate == pytest.approx(2.0)
    assert latency.caught == latency.runs and latency.max_s is not None and latency.max_s <= 1.0
    assert latency.exposed_users == int(np.ceil(2.0 * latency.max_s))
    assert fault_sizes(spec(detect={"error_rate": "5%", "latency_ms": 300})) == (pytest.approx(0.05), 300.0)


def test_analysis_traffic_makes_detection_faster_and_judge_decides_what_counts() -> None:
    facts = Facts(10.0, BASELINE, 300.0)
    five = spec(detect={"error_rate": 0.05})
    without = size(five, facts, [WINDOW])[0]
    with_traffic = size(spec(detect={"error_rate": 0.05}, traffic={"urls": ["/"], "rate": 100}), facts, [WINDOW])[0]
    assert with_traffic.caught == with_traffic.runs
    assert with_traffic.median_s is not None and without.median_s is not None
    assert with_traffic.median_s < without.median_s and with_traffic.canary_rate > without.canary_rate
    users_only = spec(detect={"error_rate": 0.05}, traffic={"urls": ["/"], "rate": 100, "judge": "user"})
    assert size(users_only, facts, [WINDOW])[0].canary_rate == pytest.approx(2.0)  # analysis traffic not counted
    limited = spec(detect={"error_rate": 0.05}, traffic={"urls": ["/"], "rate": 100, "duration": "1s"})
    brief = size(limited, facts, [Window("w", 0.2, 20.0, synthetic_s=1.0)])[0]
    assert brief.caught < with_traffic.caught  # analysis traffic only for the first second: some are missed


def test_what_cannot_be_caught_is_said() -> None:
    none = size(spec(), Facts(), [WINDOW])
    assert [d.caught for d in none] == [0, 0] and none[1].note == "no stable latency samples yet"
    assert none[0].exposed_users is None  # not all caught: no bound on exposure
    within_margin = size(spec(detect={"latency_ms": 50}), Facts(10.0, BASELINE, 300.0), [WINDOW])[1]
    assert within_margin.caught == 0 and "within the latency margin (100 ms)" in within_margin.note
    assert size(spec(defaults=False), Facts(10.0, BASELINE), [WINDOW]) == []


class SimRouter:
    """RouterStats of Poisson traffic: stable at 100 % before, then the canary at its share, with `p` errors."""

    def __init__(self, rng: np.random.Generator, rate: float, p: float) -> None:
        self.rng, self.rate, self.p = rng, rate, p
        self.requests = {"stable": BASELINE.requests, "canary": 0}
        self.errors = {"stable": 0, "canary": 0}

    def step(self, dt: float) -> None:
        n = int(self.rng.poisson(self.rate * dt))
        self.requests["canary"] += n
        self.errors["canary"] += int(self.rng.binomial(n, self.p))
        self.requests["stable"] += int(self.rng.poisson(self.rate * 4 * dt))

    async def stats(self, window_s: float) -> dict[str, BackendWindow]:
        return {
            name: BackendWindow(name, window_s, r, {"2xx": r - self.errors[name], "5xx": self.errors[name]}, 0, LATENCY)
            for name, r in self.requests.items()
        }


async def live_times(analysis: AnalysisSpec, rate: float, p: float, runs: int) -> list[float]:
    out = []
    for seed in range(runs):
        rng, clock = np.random.default_rng(1000 + seed), FakeClock(start=0.0)
        sim = SimRouter(rng, rate, p)
        run = AnalysisRun(analysis, {"router": RouterProvider(sim)}, "canary", "stable", clock)
        await run.tick()
        while run.verdict is not Verdict.FAILED and clock.monotonic() < 20.0:
            sim.step(0.5)
            clock.advance(0.5)
            await run.tick()
        if run.verdict is Verdict.FAILED:
            out.append(clock.monotonic())
    return out


def test_the_estimate_agrees_with_the_live_analysis() -> None:
    analysis = spec(detect={"error_rate": 0.04}, defaults=True)
    facts = Facts(user_rate=50.0, baseline=Sample(BASELINE.requests, 0, ()), lookback_s=300.0)
    estimate = size(analysis, facts, [Window("w", 0.2, 20.0)])[0]  # the canary gets 10 req/s
    live = asyncio.run(live_times(analysis.model_copy(update={"defaults": True}), 10.0, 0.04, 60))
    assert estimate.median_s is not None and len(live) >= 50
    assert abs(statistics.median(live) - estimate.median_s) <= 1.5, (statistics.median(live), estimate.median_s)
