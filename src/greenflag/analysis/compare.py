"""Canary versus stable, statistically and sequentially (pure).

Error rates — an always-valid mixture sequential probability ratio test (mSPRT) on the canary's requests,
re-evaluated on cumulative counts at every look:

    H0: p = p0        H1: p ~ Uniform[p0 + margin, p0 + 11·margin]

The mixture likelihood ratio is a martingale under H0, so by Ville's inequality it ever reaches 1/alpha with
probability at most alpha — however often we look. The integral is a regularized incomplete beta function.

- *relative* (stable has ≥ `min_samples` requests): p0 is the stable's error rate over its lookback (with a
  half-error continuity correction, so a clean stable is not taken as 0) plus a tolerance of a quarter of
  `error_rate_margin` (H0_TOLERANCE), and H1 starts at the stable's rate + `error_rate_margin`. For any canary
  rate ≤ p0 the likelihood ratio is a supermartingale, so the alpha bound covers canaries up to stable + margin/4
  (a clean stable: up to 0.25 % errors) — without the tolerance, 0.2 % errors next to a clean stable were
  failed in ~5 % of 20 s analyses, though far below the margin;
- *absolute* (stable has no traffic): p0 is the limit (an error rate of 1 %), margin the same.

Failed when log LR ≥ log(1/alpha); Successful when it falls to log(β/(1 − alpha)) (no sign of a regression of
at least the margin); Running in between, with "≈ N more requests needed".

Latency — a one-sided Mann-Whitney U test (Kayenta's judge, 98 % confidence) of canary − `latency_margin_ms`
against stable, on the HDR bucket counts (ties corrected by scipy). The k-th look is tested at
alpha·6/(π²k²) so the levels sum to alpha over an unbounded number of looks. Without stable traffic the
absolute rule applies: the same mSPRT on the share of canary requests slower than the p95 limit (H0 5 %).

Nothing is judged before the canary has `min_samples` requests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from greenflag.analysis.verdicts import Verdict
from greenflag.spec import CompareSpec
from greenflag.traffic.base import BackendWindow

__all__ = [
    "Judgement",
    "Sample",
    "error_rate_h0",
    "h1_range",
    "judge_error_rate",
    "judge_latency",
    "look_alpha",
    "msprt_llr",
    "msprt_llrs",
    "sprt_bounds",
    "sprt_llr",
]
__pure__ = True

H1_SPREAD = 10  # H1 spreads over regressions from `margin` to 11 × `margin` above p0 (bigger ones are obvious)
BETA = 0.05  # sets the 'not worse' boundary log(β/(1 − alpha))
H0_TOLERANCE = 0.25  # relative mode: H0 is "canary ≤ stable + H0_TOLERANCE × error_rate_margin"
LATENCY_EXCEED_P0 = 0.05  # p95 at the limit = 5 % of requests slower than it
LATENCY_EXCEED_P1 = 0.10


@dataclass(frozen=True)
class Sample:
    """What one backend served: requests, errors and its latency histogram (ms upper bound, count)."""

    requests: int = 0
    errors: int = 0
    latency_buckets: tuple[tuple[float, int], ...] = ()

    @classmethod
    def from_window(cls, window: BackendWindow) -> Sample:
        return cls(window.requests, window.errors, tuple(window.latency_buckets))

    @classmethod
    def from_value(cls, value: Any, traffic: str = "both") -> Sample:
        """From a BackendWindow, a Sample or a mapping {requests, errors, latency_buckets, synthetic}. `traffic`:
        `both` (every request), `synthetic` (the analysis traffic: the window's `synthetic` part) or `user` (the
        rest); a Sample is taken as it is."""
        if isinstance(value, Sample):
            return value
        if isinstance(value, BackendWindow):
            return cls.from_window(value.part(traffic))
        if isinstance(value, Mapping):
            whole = cls._plain(value)
            if traffic == "both":
                return whole
            tagged = value.get("synthetic")
            part = cls._plain(tagged) if isinstance(tagged, Mapping) else cls()
            return part if traffic == "synthetic" else whole.minus(part)
        raise TypeError(f"not a backend sample: {value!r}")

    @classmethod
    def _plain(cls, value: Mapping[str, Any]) -> Sample:
        buckets = tuple((float(b), int(c)) for b, c in value.get("latency_buckets", ()))
        return cls(int(value.get("requests", 0)), int(value.get("errors", 0)), buckets)

    def minus(self, other: Sample) -> Sample:
        """This sample without `other` (a part of it): counts and histogram buckets subtracted."""
        latency = dict(self.latency_buckets)
        for bound, count in other.latency_buckets:
            latency[bound] = latency.get(bound, 0) - count
        buckets = tuple((b, c) for b, c in sorted(latency.items()) if c > 0)
        return Sample(max(0, self.requests - other.requests), max(0, self.errors - other.errors), buckets)

    def plus(self, other: Sample) -> Sample:
        """Both samples together (counts and buckets added)."""
        latency = dict(self.latency_buckets)
        for bound, count in other.latency_buckets:
            latency[bound] = latency.get(bound, 0) + count
        return Sample(self.requests + other.requests, self.errors + other.errors, tuple(sorted(latency.items())))

    @property
    def error_rate(self) -> float | None:
        return None if self.requests == 0 else self.errors / self.requests

    def latencies(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        if not self.latency_buckets:
            return np.zeros(0)
        bounds = np.array([b for b, _ in self.latency_buckets], dtype=np.float64)
        counts = np.array([c for _, c in self.latency_buckets], dtype=np.int64)
        return np.repeat(bounds, counts)

    def percentile(self, q: float) -> float | None:
        values = self.latencies()
        return None if values.size == 0 else float(np.percentile(values, q, method="inverted_cdf"))


@dataclass(frozen=True)
class Judgement:
    """A comparison's verdict (Running, Successful or Failed) and its explanation."""

    metric: str
    verdict: Verdict
    value: float | None
    limit: float | None
    mode: str  # "relative" | "absolute"
    statistic: float | None
    message: str
    more_needed: int | None = None


def sprt_llr(errors: int, requests: int, p0: float, p1: float) -> float:
    """Wald's log-likelihood ratio log P(data | p1) − log P(data | p0) (simple alternative)."""
    from scipy.stats import binom

    return float(binom.logpmf(errors, requests, p1) - binom.logpmf(errors, requests, p0))


def msprt_llr(errors: int, requests: int, p0: float, lo: float, hi: float) -> float:
    """Log mixture likelihood ratio: H1 p ~ Uniform[lo, hi] against H0 p = p0, for `errors` in `requests`."""
    return float(msprt_llrs(np.asarray(errors), np.asarray(requests), p0, lo, hi))


def msprt_llrs(errors: Any, requests: Any, p0: Any, lo: Any, hi: Any) -> Any:
    """`msprt_llr` elementwise over arrays (numpy broadcasting): the same statistic for many samples at once."""
    from scipy.special import betainc, betaincc, betaln

    k = np.asarray(errors, dtype=np.float64)
    n = np.asarray(requests, dtype=np.float64)
    p0, lo, hi = (np.asarray(x, dtype=np.float64) for x in (p0, lo, hi))
    a, b = k + 1, n - k + 1
    # ∫_lo^hi p^k (1-p)^(n-k) dp = B(a, b) · (I_hi − I_lo); take the difference on the side with the small tail.
    below = k / np.maximum(n, 1) < lo
    mass = np.where(below, betaincc(a, b, lo) - betaincc(a, b, hi), betainc(a, b, hi) - betainc(a, b, lo))
    log_h1 = betaln(a, b) + np.log(np.maximum(mass, 1e-300)) - np.log(hi - lo)
    log_h0 = k * np.log(p0) + (n - k) * np.log1p(-p0)
    return log_h1 - log_h0


def sprt_bounds(alpha: float, beta: float = BETA) -> tuple[float, float]:
    """(lower, upper) log-likelihood-ratio boundaries: Successful at or below lower, Failed at or above upper."""
    return math.log(beta / (1 - alpha)), math.log(1 / alpha)


def look_alpha(alpha: float, look: int) -> float:
    """The level for the k-th look (k ≥ 1) so that the sum over all looks is alpha."""
    return alpha * 6 / (math.pi**2 * max(1, look) ** 2)


def _pct(p: float | None) -> str:
    return "n/a" if p is None else f"{p * 100:.3g}%"


def h1_range(p0: float, margin: float, h1_from: float | None = None) -> tuple[float, float]:
    """The alternative's range [lo, hi]: from `h1_from` (else p0 + margin), H1_SPREAD margins wide."""
    lo = min(max(h1_from if h1_from is not None else p0 + margin, p0 + 1e-6), 0.98)
    return lo, min(lo + H1_SPREAD * max(margin, 1e-3), 0.99)


def error_rate_h0(stable: Sample | None, cfg: CompareSpec, limit: float) -> tuple[float, float | None, bool]:
    """(p0, lower end of H1 or None, relative?) of the error-rate test: against the stable when it has at least
    `min_samples` requests (its rate with a half-error continuity correction, plus the H0 tolerance), else the
    absolute `limit`."""
    if stable is not None and stable.requests >= cfg.min_samples:
        stable_rate = min((stable.errors + 0.5) / (stable.requests + 1), 0.5)
        return min(stable_rate + H0_TOLERANCE * cfg.error_rate_margin, 0.5), stable_rate + cfg.error_rate_margin, True
    return limit, None, False


def _msprt(
    k: int, n: int, p0: float, margin: float, alpha: float, h1_from: float | None = None
) -> tuple[Verdict, float, float, int | None]:
    """(verdict, log LR, lower end of H1 — `h1_from`, else p0 + margin —, ≈ clean requests still needed)."""
    lo, hi = h1_range(p0, margin, h1_from)
    llr = msprt_llr(k, n, p0, lo, hi)
    lower, upper = sprt_bounds(alpha)
    if llr >= upper:
        return Verdict.FAILED, llr, lo, None
    if llr <= lower:
        return Verdict.SUCCESSFUL, llr, lo, None
    per_success = math.log((1 - lo) / (1 - p0))  # negative: a clean request's weight at the nearest alternative
    return Verdict.RUNNING, llr, lo, math.ceil((llr - lower) / -per_success)


def judge_error_rate(
    canary: Sample, stable: Sample | None, cfg: CompareSpec, *, limit: float = 0.01, metric: str = "error_rate"
) -> Judgement:
    """Is the canary's error rate worse than the stable's (or than `limit` when stable has no traffic)?"""
    if canary.requests < cfg.min_samples:
        need = cfg.min_samples - canary.requests
        msg = f"{metric}: canary has {canary.requests} requests; {need} more needed before judging"
        return Judgement(metric, Verdict.RUNNING, canary.error_rate, None, "-", None, msg, need)
    p0, h1_from, relative = error_rate_h0(stable, cfg, limit)
    if relative:
        assert stable is not None
        base = f"stable {_pct(stable.error_rate)} ({stable.errors}/{stable.requests}) + {_pct(cfg.error_rate_margin)}"
    else:
        base = f"limit {_pct(limit)} + {_pct(cfg.error_rate_margin)} (stable has no traffic)"
    mode = "relative" if relative else "absolute"
    verdict, llr, p1, more = _msprt(canary.errors, canary.requests, p0, cfg.error_rate_margin, cfg.alpha, h1_from)
    lower, upper = sprt_bounds(cfg.alpha)
    rate = canary.error_rate
    head = f"{metric}: canary {_pct(rate)} ({canary.errors}/{canary.requests}) vs {base}"
    if verdict is Verdict.FAILED:
        msg = f"{head}: worse, mSPRT log-LR {llr:.2f} ≥ {upper:.2f} (alpha {cfg.alpha:g})"
    elif verdict is Verdict.SUCCESSFUL:
        msg = f"{head}: not worse, mSPRT log-LR {llr:.2f} ≤ {lower:.2f}"
    else:
        msg = f"{head}: undecided, mSPRT log-LR {llr:.2f}; ≈{more} more clean requests needed"
    return Judgement(metric, verdict, rate, p1, mode, llr, msg, more)


def judge_latency(
    canary: Sample,
    stable: Sample | None,
    cfg: CompareSpec,
    *,
    look: int = 1,
    p95_limit_ms: float = 3000.0,
    metric: str = "latency",
) -> Judgement:
    """Is the canary slower than the stable by more than the margin (or its p95 above the limit)?"""
    n_canary = sum(c for _, c in canary.latency_buckets)
    if n_canary < cfg.min_samples:
        need = cfg.min_samples - n_canary
        msg = f"{metric}: canary has {n_canary} timed requests; {need} more needed before judging"
        return Judgement(metric, Verdict.RUNNING, canary.percentile(95), None, "-", None, msg, need)
    n_stable = 0 if stable is None else sum(c for _, c in stable.latency_buckets)
    if stable is not None and n_stable >= cfg.min_samples:
        return _latency_relative(canary, stable, cfg, look, metric)
    return _latency_absolute(canary, n_canary, cfg, p95_limit_ms, metric)


def _latency_relative(canary: Sample, stable: Sample, cfg: CompareSpec, look: int, metric: str) -> Judgement:
    from scipy.stats import mannwhitneyu

    x = canary.latencies() - cfg.latency_margin_ms
    y = stable.latencies()
    level = look_alpha(1 - cfg.latency_confidence, look)
    result = mannwhitneyu(x, y, alternative="greater", method="asymptotic")
    p = float(result.pvalue)
    c95, s95 = canary.percentile(95), stable.percentile(95)
    c50, s50 = canary.percentile(50), stable.percentile(50)
    limit = None if s95 is None else s95 + cfg.latency_margin_ms
    head = (
        f"{metric}: canary p50 {c50:.0f} ms p95 {c95:.0f} ms vs stable p50 {s50:.0f} ms p95 {s95:.0f} ms"
        f" + {cfg.latency_margin_ms:g} ms margin"
    )
    if not math.isnan(p) and p < level:
        msg = f"{head}: slower, Mann-Whitney p={p:.2g} < {level:.2g} (look {look})"
        return Judgement(metric, Verdict.FAILED, c95, limit, "relative", p, msg)
    msg = f"{head}: not slower (Mann-Whitney p={p:.2g}, look {look})"
    return Judgement(metric, Verdict.SUCCESSFUL, c95, limit, "relative", p, msg)


def _latency_absolute(canary: Sample, n: int, cfg: CompareSpec, limit_ms: float, metric: str) -> Judgement:
    slow = sum(c for bound, c in canary.latency_buckets if bound > limit_ms)
    margin = LATENCY_EXCEED_P1 - LATENCY_EXCEED_P0
    verdict, llr, _, more = _msprt(slow, n, LATENCY_EXCEED_P0, margin, cfg.alpha)
    c95 = canary.percentile(95)
    head = f"{metric}: canary p95 {c95:.0f} ms, {slow}/{n} slower than {limit_ms:g} ms (stable has no traffic)"
    if verdict is Verdict.FAILED:
        msg = f"{head}: p95 above {limit_ms:g} ms, mSPRT log-LR {llr:.2f}"
    elif verdict is Verdict.SUCCESSFUL:
        msg = f"{head}: p95 within {limit_ms:g} ms, mSPRT log-LR {llr:.2f}"
    else:
        msg = f"{head}: undecided, mSPRT log-LR {llr:.2f}; ≈{more} more requests needed"
    return Judgement(metric, verdict, c95, limit_ms, "absolute", llr, msg, more)
