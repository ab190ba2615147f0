"""Sequential canary-versus-stable statistics on synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from greenflag.analysis.compare import (
    Sample,
    judge_error_rate,
    judge_latency,
    look_alpha,
    msprt_llr,
    sprt_bounds,
    sprt_llr,
)
from greenflag.analysis.verdicts import Verdict
from greenflag.spec import CompareSpec
from greenflag.traffic.base import BackendWindow

CFG = CompareSpec()


def lat(*pairs: tuple[float, int]) -> tuple[tuple[float, int], ...]:
    return tuple(pairs)


def test_sprt_llr_matches_the_closed_form() -> None:
    k, n, p0, p1 = 3, 50, 0.01, 0.02
    expected = k * math.log(p1 / p0) + (n - k) * math.log((1 - p1) / (1 - p0))
    assert sprt_llr(k, n, p0, p1) == pytest.approx(expected)
    lower, upper = sprt_bounds(0.01, 0.05)
    assert lower == pytest.approx(math.log(0.05 / 0.99)) and upper == pytest.approx(math.log(100))


@pytest.mark.parametrize(("k", "n"), [(0, 20), (2, 30), (3, 40), (0, 3000), (40, 100), (100, 100)])
def test_msprt_llr_matches_numerical_integration(k: int, n: int) -> None:
    from scipy.integrate import quad

    p0, lo, hi = 0.001, 0.011, 0.5

    def ratio(p: float) -> float:
        return math.exp(k * math.log(p / p0) + (n - k) * (math.log1p(-p) - math.log1p(-p0)))

    mass, _ = quad(ratio, lo, hi, epsabs=0, epsrel=1e-10, limit=200)
    assert msprt_llr(k, n, p0, lo, hi) == pytest.approx(math.log(mass / (hi - lo)), rel=1e-6, abs=1e-6)


def test_look_alpha_spends_at_most_alpha() -> None:
    assert sum(look_alpha(0.02, k) for k in range(1, 100_000)) < 0.02
    assert look_alpha(0.02, 1) > look_alpha(0.02, 2)


@pytest.mark.parametrize(
    ("canary", "stable", "expected", "mode"),
    [
        ((5, 1), (1000, 1), Verdict.RUNNING, "-"),  # below min_samples
        ((40, 3), (1000, 1), Verdict.FAILED, "relative"),
        ((20, 0), (1000, 1), Verdict.RUNNING, "relative"),  # clean so far, not yet proven
        ((400, 0), (4000, 4), Verdict.SUCCESSFUL, "relative"),
        ((600, 1), (4000, 4), Verdict.SUCCESSFUL, "relative"),
        ((100, 10), None, Verdict.FAILED, "absolute"),  # stable has no traffic: the 1 % limit applies
        ((100, 10), (5, 0), Verdict.FAILED, "absolute"),  # stable below min_samples counts as no traffic
        ((500, 0), None, Verdict.SUCCESSFUL, "absolute"),
        ((2000, 50), (2000, 50), Verdict.SUCCESSFUL, "relative"),  # both bad alike: not the canary's fault
    ],
)
def test_error_rate(canary: tuple[int, int], stable: tuple[int, int] | None, expected: Verdict, mode: str) -> None:
    c = Sample(requests=canary[0], errors=canary[1])
    s = None if stable is None else Sample(requests=stable[0], errors=stable[1])
    j = judge_error_rate(c, s, CFG)
    assert j.verdict is expected, j.message
    assert j.mode == mode


def test_error_rate_failure_explains_metric_value_and_limit() -> None:
    j = judge_error_rate(Sample(40, 3), Sample(1000, 1), CFG)
    assert j.verdict is Verdict.FAILED
    assert j.value == pytest.approx(0.075)
    assert j.limit is not None and 0.01 < j.limit < 0.013
    assert "error_rate" in j.message and "7.5%" in j.message and "3/40" in j.message and "stable" in j.message


def test_error_rate_running_says_how_many_more_requests() -> None:
    j = judge_error_rate(Sample(20, 0), Sample(1000, 1), CFG)
    assert j.verdict is Verdict.RUNNING and j.more_needed is not None and j.more_needed > 0
    assert "more clean requests needed" in j.message


def buckets(values: np.ndarray) -> tuple[tuple[float, int], ...]:
    uniq, counts = np.unique(np.round(values), return_counts=True)
    return tuple((float(u), int(c)) for u, c in zip(uniq, counts, strict=True))


def test_latency_relative() -> None:
    rng = np.random.default_rng(1)
    stable = Sample(300, 0, buckets(rng.gamma(4, 25, 300)))
    same = Sample(30, 0, buckets(rng.gamma(4, 25, 30)))
    slow = Sample(30, 0, buckets(rng.gamma(4, 25, 30) + 500))
    assert judge_latency(same, stable, CFG, look=1).verdict is Verdict.SUCCESSFUL
    j = judge_latency(slow, stable, CFG, look=5)
    assert j.verdict is Verdict.FAILED and j.mode == "relative"
    assert "latency" in j.message and "Mann-Whitney" in j.message and j.limit is not None


def test_latency_within_the_margin_passes() -> None:
    stable = Sample(300, 0, lat((100.0, 300)))
    slightly = Sample(300, 0, lat((150.0, 300)))  # 50 ms slower, margin 100 ms
    assert judge_latency(slightly, stable, CFG).verdict is Verdict.SUCCESSFUL


def test_latency_absolute_and_min_samples() -> None:
    assert judge_latency(Sample(5, 0, lat((4000.0, 5))), None, CFG).verdict is Verdict.RUNNING
    j = judge_latency(Sample(30, 0, lat((4000.0, 30))), None, CFG)
    assert j.verdict is Verdict.FAILED and j.mode == "absolute" and j.limit == 3000.0
    assert judge_latency(Sample(300, 0, lat((200.0, 300))), None, CFG).verdict is Verdict.SUCCESSFUL


def test_sample_from_window_and_mapping() -> None:
    w = BackendWindow("v2", 10.0, requests=10, responses={"2xx": 8, "5xx": 2}, latency_buckets=((1.0, 10),))
    assert Sample.from_value(w) == Sample(10, 2, ((1.0, 10),))
    assert Sample.from_value({"requests": 10, "errors": 2, "latency_buckets": [[1.0, 10]]}) == Sample(
        10, 2, ((1.0, 10),)
    )
    assert Sample(10, 0, ((1.0, 5), (3.0, 5))).percentile(50) == 1.0


def test_healthy_canaries_rarely_fail() -> None:
    """100 simulated healthy canaries (0.1 % errors) over 60 looks: the SPRT's alpha bounds false failures."""
    rng = np.random.default_rng(7)
    failures = 0
    for _ in range(100):
        c_req = c_err = s_req = s_err = 0
        for _look in range(60):
            c_req += 10
            c_err += int(rng.binomial(10, 0.001))
            s_req += 90
            s_err += int(rng.binomial(90, 0.001))
            if judge_error_rate(Sample(c_req, c_err), Sample(s_req, s_err), CFG).verdict is Verdict.FAILED:
                failures += 1
                break
    assert failures <= 3
