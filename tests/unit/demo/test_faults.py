"""The reference service's fault decisions (pure)."""

from __future__ import annotations

import random

import pytest

from greenflag.demo.faults import Faults
from greenflag.demo.options import AppOptions


def test_no_faults_by_default() -> None:
    faults = Faults(AppOptions())
    decision = faults.decide(100.0)
    assert decision.delay_s == 0 and not decision.fail


def test_error_rate_fails_about_that_fraction() -> None:
    faults = Faults(AppOptions(error_rate=0.25), random.Random(7))
    fails = sum(faults.decide(1.0).fail for _ in range(10_000))
    assert 2_300 < fails < 2_700
    assert all(Faults(AppOptions(error_rate=1.0)).decide(0.0).fail for _ in range(100))


def test_latency_with_jitter_stays_within_bounds_and_never_negative() -> None:
    faults = Faults(AppOptions(latency_ms=100, latency_jitter_ms=20), random.Random(1))
    delays = [faults.decide(0.0).delay_s for _ in range(1000)]
    assert min(delays) >= 0.08 and max(delays) <= 0.12
    assert max(delays) - min(delays) > 0.03
    jitter_only = Faults(AppOptions(latency_jitter_ms=50), random.Random(2))
    assert min(jitter_only.decide(0.0).delay_s for _ in range(200)) == 0.0


def test_faults_wait_for_start_up_and_faults_after_s() -> None:
    faults = Faults(AppOptions(error_rate=1.0, latency_ms=10, faults_after_s=30))
    assert not faults.decide(None).fail  # start-up work not done yet
    assert not faults.decide(29.9).fail
    assert faults.decide(29.9).delay_s == 0
    assert faults.decide(30.0).fail
    assert faults.decide(30.0).delay_s == pytest.approx(0.01)


def test_crash_after_counts_requests() -> None:
    faults = Faults(AppOptions(crash_after=2))
    assert [faults.count_request() for _ in range(4)] == [False, False, True, True]
    never = Faults(AppOptions())
    assert not any(never.count_request() for _ in range(1000))
    assert Faults(AppOptions(crash_after=0)).count_request()
