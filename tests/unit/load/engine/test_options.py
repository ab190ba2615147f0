"""Executor plans from command-line options or a script's options."""

from __future__ import annotations

import pytest

from greenflag.load.engine import schedules as sch
from greenflag.load.engine.options import PlanOptions, build_plan, from_mapping, parse_stage


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
