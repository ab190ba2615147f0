"""How long would the analysis take to catch a fault, and how many users would meet it first? (pure)

Before a rollout, for each analysis window of its plan (an analysis step at its weight, blue-green's pre-promotion
analysis, background analysis), `size()` simulates canaries with the configured faults — an error rate
`analysis.detect.error_rate` above the stable's, every request `analysis.detect.latency_ms` slower — at the
traffic the analysis will see: users' requests at the canary's share of the router's recent rate, plus the
analysis traffic (`analysis.traffic.rate` to each version), counted as `analysis.traffic.judge` says. Each
simulated look (every `analysis.interval`) is judged by the very statistics of the live analysis
(`compare.error_rate_h0`, `h1_range`, `msprt_llrs`, `sprt_bounds`; `judge_latency`), with a fixed seed, so the
same spec and traffic always give the same estimate.

The estimate: the share of faulty canaries caught within the window, the median, 95th percentile and worst time
to a Failed verdict from the start of the analysis (the controller then needs one tick), and the worst number of
users' requests the faulty canary served before that — or, when some are not caught, that those would pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from greenflag.analysis.compare import (
    Sample,
    error_rate_h0,
    h1_range,
    judge_latency,
    msprt_llrs,
    sprt_bounds,
)
from greenflag.analysis.defaults import DEFAULT_ERROR_RATE_LIMIT
from greenflag.analysis.verdicts import Verdict
from greenflag.spec import AnalysisSpec

__all__ = ["Detection", "Facts", "Window", "fault_sizes", "size"]
__pure__ = True

ERROR_RUNS = 200
LATENCY_RUNS = 20
MAX_LOOKS = 600


@dataclass(frozen=True)
class Facts:
    """What the router saw recently: users' requests per second (all versions), the serving version's users'
    requests (errors and latency histogram) over the lookback, and how long that lookback was."""

    user_rate: float = 0.0
    baseline: Sample = field(default_factory=Sample)
    lookback_s: float = 0.0
    source: str = "none"  # where the numbers come from, for the report


@dataclass(frozen=True)
class Window:
    """One analysis run of the plan: `canary_share` of users' requests go to the canary, for `duration_s`."""

    name: str
    canary_share: float
    duration_s: float
    synthetic_s: float | None = None  # analysis traffic for this long from the start (None: throughout)


@dataclass(frozen=True)
class Detection:
    fault: str
    window: str
    canary_rate: float  # requests per second the built-in rules count on the canary
    users_rate: float  # users' requests per second to the canary
    runs: int
    caught: int
    median_s: float | None
    p95_s: float | None
    max_s: float | None
    exposed_users: int | None  # users' requests the faulty canary served before the worst caught run; None: not all
    note: str = ""

    @property
    def caught_share(self) -> float:
        return self.caught / self.runs if self.runs else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "window": self.window,
            "canary_rate": round(self.canary_rate, 2),
            "users_rate": round(self.users_rate, 2),
            "runs": self.runs,
            "caught": self.caught,
            "median_s": self.median_s,
            "p95_s": self.p95_s,
            "max_s": self.max_s,
            "exposed_users": self.exposed_users,
            "note": self.note,
        }


def fault_sizes(spec: AnalysisSpec) -> tuple[float, float]:
    """(error-rate increase, latency increase in ms): `analysis.detect`, else the error-rate margin and twice the
    latency margin (the latency test only fails a canary slower than the stable by more than the margin)."""
    cfg = spec.compare
    error = spec.detect.error_rate if spec.detect.error_rate is not None else cfg.error_rate_margin
    latency = spec.detect.latency_ms if spec.detect.latency_ms is not None else 2 * cfg.latency_margin_ms
    return error, latency


def _rates(spec: AnalysisSpec, facts: Facts, window: Window, t: float) -> tuple[float, float, float, float]:
    """(canary users', canary synthetic, stable users', stable synthetic) requests per second the rules count at
    `t` seconds into the window."""
    traffic = spec.traffic
    sending = traffic is not None and (window.synthetic_s is None or t <= window.synthetic_s)
    synthetic = traffic.rate if traffic is not None and sending else 0.0
    judge = spec.judge
    users_c, users_s = facts.user_rate * window.canary_share, facts.user_rate * (1 - window.canary_share)
    keep_users, keep_synthetic = judge != "synthetic", judge != "user"
    return (
        users_c if keep_users else 0.0,
        synthetic if keep_synthetic else 0.0,
        users_s if keep_users else 0.0,
        synthetic if keep_synthetic else 0.0,
    )


def _summary(
    fault: str, window: Window, times: list[float | None], canary_rate: float, users_rate: float, note: str
) -> Detection:
    caught = sorted(t for t in times if t is not None)
    worst = caught[-1] if caught else None
    all_caught = len(caught) == len(times) and bool(times)
    return Detection(
        fault,
        window.name,
        canary_rate,
        users_rate,
        len(times),
        len(caught),
        float(np.median(caught)) if caught else None,
        float(np.percentile(caught, 95)) if caught else None,
        worst,
        math.ceil(users_rate * worst) if all_caught and worst is not None else None,
        note,
    )


def _looks(spec: AnalysisSpec, window: Window) -> np.ndarray[Any, np.dtype[np.float64]]:
    step = max(spec.interval, 0.01)
    count = min(MAX_LOOKS, max(1, math.floor(window.duration_s / step)))
    return np.arange(1, count + 1, dtype=np.float64) * step


def error_detection(spec: AnalysisSpec, facts: Facts, window: Window, delta: float, *, seed: int = 1) -> Detection:
    """Faulty canaries whose error rate is `delta` above the stable's, from the start of the analysis."""
    cfg = spec.compare
    rng = np.random.default_rng(seed)
    users_c, synth_c, _, _ = _rates(spec, facts, window, 0.0)
    base = facts.baseline
    p_stable = base.errors / base.requests if base.requests else 0.0
    p_canary = min(p_stable + delta, 1.0)
    fault = f"error rate +{delta * 100:.3g} %"
    note = ""
    use_baseline = spec.judge != "synthetic" and spec.compare.enabled
    runs = ERROR_RUNS
    n_c = np.zeros(runs)
    e_c = np.zeros(runs)
    n_s = np.full(runs, float(base.requests if use_baseline else 0))
    e_s = np.full(runs, float(base.errors if use_baseline else 0))
    caught: list[float | None] = [None] * runs
    upper = sprt_bounds(cfg.alpha)[1]
    previous = 0.0
    for t in _looks(spec, window):
        dt = t - previous
        previous = t
        rate_c, rate_cs, rate_s, rate_ss = _rates(spec, facts, window, float(t))
        new_c = rng.poisson((rate_c + rate_cs) * dt, runs)
        n_c += new_c
        e_c += rng.binomial(new_c, p_canary)
        if spec.compare.enabled:
            new_s = rng.poisson((rate_s + rate_ss) * dt, runs)
            n_s += new_s
            e_s += rng.binomial(new_s, p_stable)
        open_runs = [i for i in range(runs) if caught[i] is None and n_c[i] >= cfg.min_samples]
        if not open_runs:
            continue
        h0 = [error_rate_h0(Sample(int(n_s[i]), int(e_s[i])), cfg, DEFAULT_ERROR_RATE_LIMIT) for i in open_runs]
        p0 = np.array([p for p, _, _ in h0])
        bounds = [h1_range(p, cfg.error_rate_margin, h1) for p, h1, _ in h0]
        idx = np.array(open_runs)
        llr = msprt_llrs(e_c[idx], n_c[idx], p0, np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds]))
        for i, value in zip(open_runs, np.atleast_1d(llr).tolist(), strict=True):
            if value >= upper:
                caught[i] = float(t)
        if not any(relative for _, _, relative in h0):
            note = f"the stable has too few requests: judged against the absolute limit {DEFAULT_ERROR_RATE_LIMIT:.0%}"
        if all(c is not None for c in caught):
            break
    return _summary(fault, window, caught, users_c + synth_c, facts.user_rate * window.canary_share, note)


def latency_detection(spec: AnalysisSpec, facts: Facts, window: Window, shift_ms: float, *, seed: int = 1) -> Detection:
    """Faulty canaries whose every request is `shift_ms` slower than the stable's (its recent histogram)."""
    cfg = spec.compare
    fault = f"latency +{shift_ms:g} ms"
    users_c, synth_c, _, _ = _rates(spec, facts, window, 0.0)
    users_rate = facts.user_rate * window.canary_share
    base = facts.baseline
    runs = LATENCY_RUNS
    if not base.latency_buckets:
        return _summary(fault, window, [None] * runs, users_c + synth_c, users_rate, "no stable latency samples yet")
    if shift_ms <= cfg.latency_margin_ms:
        note = f"not detectable by design: within the latency margin ({cfg.latency_margin_ms:g} ms)"
        return _summary(fault, window, [None] * runs, users_c + synth_c, users_rate, note)
    rng = np.random.default_rng(seed)
    bounds = np.array([b for b, _ in base.latency_buckets])
    weights = np.array([c for _, c in base.latency_buckets], dtype=np.float64)
    probs = weights / weights.sum()
    use_baseline = spec.judge != "synthetic"
    paired = spec.traffic is not None  # the stable's requests of the same seconds, once there are enough (builtin)
    caught: list[float | None] = [None] * runs
    for run in range(runs):
        canary = np.zeros(len(bounds), dtype=np.int64)
        stable = weights.astype(np.int64) if use_baseline else np.zeros(len(bounds), dtype=np.int64)
        concurrent = np.zeros(len(bounds), dtype=np.int64)
        previous = 0.0
        for look, t in enumerate(_looks(spec, window), start=1):
            dt, previous = t - previous, t
            rate_c, rate_cs, rate_s, rate_ss = _rates(spec, facts, window, float(t))
            canary += rng.multinomial(rng.poisson((rate_c + rate_cs) * dt), probs)
            arrived = rng.multinomial(rng.poisson((rate_s + rate_ss) * dt), probs)
            stable += arrived
            concurrent += arrived
            c = Sample(int(canary.sum()), 0, _buckets(bounds + shift_ms, canary))
            pick = concurrent if paired and concurrent.sum() >= cfg.min_samples else stable
            s = Sample(int(pick.sum()), 0, _buckets(bounds, pick))
            if judge_latency(c, s, cfg, look=look).verdict is Verdict.FAILED:
                caught[run] = float(t)
                break
    return _summary(fault, window, caught, users_c + synth_c, users_rate, "")


def _buckets(bounds: np.ndarray[Any, Any], counts: np.ndarray[Any, Any]) -> tuple[tuple[float, int], ...]:
    return tuple((float(b), int(c)) for b, c in zip(bounds.tolist(), counts.tolist(), strict=True) if c)


def size(spec: AnalysisSpec, facts: Facts, windows: list[Window], *, seed: int = 1) -> list[Detection]:
    """The detection estimates for every window of the plan, error-rate fault first, then latency."""
    error, latency = fault_sizes(spec)
    out: list[Detection] = []
    if not spec.defaults:
        return out
    for window in windows:
        out.append(error_detection(spec, facts, window, error, seed=seed))
        out.append(latency_detection(spec, facts, window, latency, seed=seed))
    return out
