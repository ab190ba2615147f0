"""Simulated canary analysis: false-failure rate and time to a Failed verdict (pure simulation, no sockets).

Traffic: an open model at --rate req/s, each request routed to the canary with probability --share (default
100 req/s, 10 % canary). Latency: log-normal, median 80 ms (sigma 0.4), 1 ms buckets. Each run drives the real
`AnalysisRun` (built-in defaults, `analysis.interval` = --interval) through the real router provider against a
simulated `RouterStats`, on a FakeClock. Beside it, the seed's rules applied literally — error rate > 1 % or
p95 > 3 s over a 10 s sliding window, checked every interval, first failure fails (Argo failureLimit 0) — as the
naive baseline.

Scenarios: (a) healthy canaries (0.1 % errors, same latency as stable) over --horizon seconds: false failures;
(b) 5 % errors; (c) +500 ms latency: median and p95 time to Failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from greenflag.analysis.providers.router import RouterProvider
from greenflag.analysis.run import AnalysisRun
from greenflag.analysis.verdicts import Verdict
from greenflag.spec import AnalysisSpec
from greenflag.testing import FakeClock
from greenflag.traffic.base import BackendWindow

MAX_MS = 20_000
MEDIAN_MS = 80.0
SIGMA = 0.4
STABLE_ERROR_RATE = 0.001


@dataclass
class Scenario:
    name: str
    canary_error_rate: float
    canary_extra_ms: float
    runs: int


class SimRouter:
    """A RouterStats whose backends' traffic is generated tick by tick; windows are cumulative since start."""

    def __init__(
        self, rng: np.random.Generator, rate: float, share: float, scenario: Scenario, baseline_s: float
    ) -> None:
        self.rng, self.rate, self.share, self.scenario = rng, rate, share, scenario
        self.requests = {"stable": 0, "canary": 0}
        self.errors = {"stable": 0, "canary": 0}
        self.hist = {"stable": np.zeros(MAX_MS + 1, np.int64), "canary": np.zeros(MAX_MS + 1, np.int64)}
        self.recent: deque[tuple[int, int, np.ndarray[Any, Any]]] = deque()  # canary seconds, for the naive rule
        # The stable served alone before the canary started; the analysis reads its whole lookback (max_window).
        n = int(rng.poisson(rate * baseline_s))
        self._record("stable", n, int(rng.binomial(n, STABLE_ERROR_RATE)), self._latency(n, 0.0))

    def _latency(self, n: int, extra_ms: float) -> np.ndarray[Any, Any]:
        return np.minimum(np.rint(self.rng.lognormal(np.log(MEDIAN_MS), SIGMA, n) + extra_ms), MAX_MS)

    def _record(self, name: str, n: int, errors: int, latency: np.ndarray[Any, Any]) -> None:
        self.hist[name] += np.bincount(latency.astype(np.int64), minlength=MAX_MS + 1)
        self.requests[name] += n
        self.errors[name] += errors

    def step(self, dt: float) -> None:
        total = int(self.rng.poisson(self.rate * dt))
        n_canary = int(self.rng.binomial(total, self.share))
        for name, n, p, extra in (
            ("stable", total - n_canary, STABLE_ERROR_RATE, 0.0),
            ("canary", n_canary, self.scenario.canary_error_rate, self.scenario.canary_extra_ms),
        ):
            errors = int(self.rng.binomial(n, p))
            latency = self._latency(n, extra)
            self._record(name, n, errors, latency)
            if name == "canary":
                self.recent.append((n, errors, latency))

    async def stats(self, window_s: float) -> dict[str, BackendWindow]:
        out = {}
        for name in ("stable", "canary"):
            idx = np.nonzero(self.hist[name])[0]
            buckets = tuple(zip(idx.astype(float).tolist(), self.hist[name][idx].tolist(), strict=True))
            r, e = self.requests[name], self.errors[name]
            out[name] = BackendWindow(name, window_s, r, {"2xx": r - e, "5xx": e}, 0, buckets)
        return out

    def naive_fails(self, window_ticks: int) -> bool:
        """The seed's rules on a sliding window: error rate > 1 % or p95 > 3 s."""
        while len(self.recent) > window_ticks:
            self.recent.popleft()
        n = sum(r[0] for r in self.recent)
        if n == 0:
            return False
        errors = sum(r[1] for r in self.recent)
        p95 = float(np.percentile(np.concatenate([r[2] for r in self.recent]), 95))
        return errors / n > 0.01 or p95 > 3000.0


async def one_run(seed: int, args: argparse.Namespace, scenario: Scenario) -> tuple[float | None, float | None]:
    """(time to Failed by the analysis, time to failure by the naive rule); None = not within the horizon."""
    rng = np.random.default_rng(seed)
    clock = FakeClock(start=0.0)
    sim = SimRouter(rng, args.rate, args.share, scenario, args.baseline)
    spec = AnalysisSpec.model_validate({"interval": args.interval})
    session = AnalysisRun(spec, {"router": RouterProvider(sim)}, "canary", "stable", clock)
    ours: float | None = None
    naive: float | None = None
    window_ticks = max(1, round(10.0 / args.interval))
    await session.tick()
    while clock.monotonic() < args.horizon and (ours is None or naive is None):
        sim.step(args.interval)
        clock.advance(args.interval)
        if ours is None:
            await session.tick()
            if session.verdict is Verdict.FAILED:
                ours = clock.monotonic()
        if naive is None and sim.naive_fails(window_ticks):
            naive = clock.monotonic()
    return ours, naive


def summarise(times: list[float | None]) -> dict[str, Any]:
    hit = [t for t in times if t is not None]
    out: dict[str, Any] = {"runs": len(times), "failed": len(hit), "failed_share": len(hit) / len(times)}
    if hit:
        out["median_s"] = float(np.median(hit))
        out["p95_s"] = float(np.percentile(hit, 95))
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    scenarios = [
        Scenario("healthy", 0.001, 0.0, args.healthy_runs),
        Scenario("errors_5pct", 0.05, 0.0, args.bad_runs),
        Scenario("latency_plus_500ms", 0.001, 500.0, args.bad_runs),
    ]
    results: dict[str, Any] = {}
    for scenario in scenarios:
        start = time.perf_counter()
        ours, naive = [], []
        for i in range(scenario.runs):
            a, b = await one_run(args.seed * 100_003 + i, args, scenario)
            ours.append(a)
            naive.append(b)
        results[scenario.name] = {"analysis": summarise(ours), "naive": summarise(naive),
                                  "cpu_s": round(time.perf_counter() - start, 1)}  # fmt: skip
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    h = results["healthy"]
    print(f"analysis_sim: {args.rate:g} req/s, {args.share:.0%} canary, interval {args.interval:g}s, "
          f"horizon {args.horizon:g}s, seed {args.seed}")  # fmt: skip
    ours, naive = h["analysis"]["failed_share"], h["naive"]["failed_share"]
    a = h["analysis"]
    print(f"(a) healthy canaries, false failures: analysis {ours:.2%} ({a['failed']}/{a['runs']})"
          f" vs naive seed rule {naive:.2%}  -> ratio naive/analysis "
          f"{(naive / ours) if ours else float('inf'):.1f}x  [target <= 1%]")  # fmt: skip
    for key, label in (("errors_5pct", "(b) 5% errors"), ("latency_plus_500ms", "(c) +500 ms latency")):
        a, n = results[key]["analysis"], results[key]["naive"]
        text = f"{label}: analysis detected {a['failed']}/{a['runs']}"
        if a["failed"]:
            text += f", time to Failed median {a['median_s']:.1f}s p95 {a['p95_s']:.1f}s"
        if n["failed"]:
            text += f"; naive rule median {n['median_s']:.1f}s p95 {n['p95_s']:.1f}s ({n['failed']}/{n['runs']})"
        else:
            text += "; naive rule never fails it"
        print(text + "  [target median <= 3s]")
    print("Argo Rollouts defaults (interval 1m, failureLimit 0): ~60s+; Flagger (interval 1m x threshold 5): ~5min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--share", type=float, default=0.10)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--horizon", type=float, default=60.0, help="seconds each run lasts at most")
    parser.add_argument("--baseline", type=float, default=300.0, help="seconds the stable served alone before")
    parser.add_argument("--healthy-runs", type=int, default=1000)
    parser.add_argument("--bad-runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=str, default=None, help="also write the figures here")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    report(results, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
