from __future__ import annotations

import pytest

from greenflag.load.engine import schedules as sch
from greenflag.load.engine.options import PlanOptions, build_plan, from_mapping, parse_stage


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


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (PlanOptions(), sch.ConstantVUs(10, 10.0)),
        (PlanOptions(vus=3, duration=5), sch.ConstantVUs(3, 5.0)),
        (PlanOptions(rate=50, duration=5), sch.ConstantArrivalRate(50.0, 5.0, 50, 500)),
        (PlanOptions(rate=50, vus=5, max_vus=9), sch.ConstantArrivalRate(50.0, 10.0, 5, 9)),
        (PlanOptions(iterations=7, vus=2), sch.SharedIterations(2, 7, 600.0)),
        (
            PlanOptions(stages=(sch.Stage(5, 10),)),
            sch.RampingVUs(0, (sch.Stage(5, 10),)),
        ),
        (
            PlanOptions(rate=1, stages=(sch.Stage(5, 10),)),
            sch.RampingArrivalRate(1.0, (sch.Stage(5, 10),), 10, 100),
        ),
    ],
)
def test_build_plan_defaults(options: PlanOptions, expected: sch.ExecutorConfig) -> None:
    assert build_plan(options) == expected


def test_build_plan_errors_name_the_option() -> None:
    with pytest.raises(ValueError, match="--executor per-vu-iterations needs --iterations"):
        build_plan(PlanOptions(executor="per-vu-iterations"))
    with pytest.raises(ValueError, match="needs --rate"):
        build_plan(PlanOptions(executor="constant-arrival-rate"))
    with pytest.raises(ValueError, match="DURATION:TARGET"):
        parse_stage("30s")


def test_script_options_are_overridden_by_the_command_line() -> None:
    file_options = from_mapping({"vus": 5, "duration": "1m", "stages": [{"duration": "10s", "target": 3}]})
    assert file_options.stages == (sch.Stage(10.0, 3.0),)
    merged = file_options.merged(PlanOptions(vus=7))
    assert merged.vus == 7 and merged.duration == 60.0


def test_describe_reads_like_k6() -> None:
    assert sch.describe(sch.ConstantVUs(64, 30)) == "constant-vus: 64 looping VUs for 30s"
    assert "dropped" not in sch.describe(sch.ConstantArrivalRate(100, 60, 10, 200))
