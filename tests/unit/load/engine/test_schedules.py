"""Executor plans (pure): schedules, validation, descriptions."""

from __future__ import annotations

import pytest

from greenflag.load.engine import schedules as sch


def test_constant_arrival_rate_starts_on_an_absolute_grid() -> None:
    offsets = list(sch.arrival_offsets(4.0, [sch.Stage(2.5, 4.0)]))
    assert offsets == pytest.approx([i * 0.25 for i in range(10)])


def test_ramping_arrival_rate_follows_the_area_under_the_curve() -> None:
    # 0 → 10/s over 10 s: 50 iterations; iteration i at sqrt(2 i) (area t²/2 = i)
    offsets = list(sch.arrival_offsets(0.0, [sch.Stage(10.0, 10.0)]))
    assert len(offsets) == 50
    assert offsets[8] == pytest.approx(4.0)
    # then a plateau and a ramp down: counts add up, offsets never go backwards
    offsets = list(sch.arrival_offsets(0.0, [sch.Stage(10, 10), sch.Stage(5, 10), sch.Stage(10, 0)]))
    assert len(offsets) == 50 + 50 + 50
    assert offsets == sorted(offsets)
    assert offsets[-1] < 25.0


def test_zero_rate_stage_has_no_iterations() -> None:
    assert list(sch.arrival_offsets(0.0, [sch.Stage(5, 0)])) == []


@pytest.mark.parametrize(("t", "vus"), [(0, 0), (5, 5), (9.99, 9), (10, 10), (15, 5), (20, 0), (99, 0)])
def test_ramping_vus_interpolates(t: float, vus: int) -> None:
    assert sch.vus_at(0, [sch.Stage(10, 10), sch.Stage(10, 0)], t) == vus


def test_split_iterations() -> None:
    assert sch.split_iterations(10, 3) == [4, 3, 3]


def test_validate_reports_every_problem() -> None:
    problems = sch.validate(sch.ConstantArrivalRate(rate=0, duration=0, pre_allocated_vus=5, max_vus=2))
    assert problems == [
        "rate must be positive",
        "duration must be positive",
        "max VUs must be at least the pre-allocated VUs",
    ]
    assert sch.validate(sch.RampingVUs(0, ())) == ["give at least one stage"]


def test_describe_reads_like_k6() -> None:
    assert sch.describe(sch.ConstantVUs(64, 30)) == "constant-vus: 64 looping VUs for 30s"
    assert "dropped" not in sch.describe(sch.ConstantArrivalRate(100, 60, 10, 200))
