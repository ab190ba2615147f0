"""Executor plans from command-line options or a script's options."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenflag.load.engine import schedules as sch
from greenflag.load.engine.options import OPTION_KEYS, OptionError, PlanOptions, build_plan, from_mapping, parse_stage


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


# every kind of value a Python or YAML file can hold
ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@given(key=st.sampled_from(sorted(OPTION_KEYS)), value=ANY_VALUE)
def test_every_option_key_with_any_value_is_accepted_or_named(key: str, value: object) -> None:
    """For every key and every type of value: a PlanOptions, or an OptionError naming that key — never another
    exception; and an accepted value gives a plan or a ValueError, never a TypeError later."""
    try:
        options = from_mapping({key: value})
    except OptionError as exc:
        assert exc.key == key or exc.key.startswith(f"{key}["), exc
        return
    with contextlib.suppress(ValueError):
        build_plan(options)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"vus": True}, "vus"),
        ({"iterations": 0}, "iterations"),
        ({"rate": float("nan")}, "rate"),
        ({"rate": 0}, "rate"),
        ({"duration": "soon"}, "duration"),
        ({"duration": float("inf")}, "duration"),
        ({"startVUs": 1.5}, "startVUs"),
        ({"stages": [{"duration": "1s", "target": 2, "extra": 1}]}, "stages[0]"),
        ({"stages": [{"duration": -1, "target": 2}]}, "stages[0].duration"),
        ({"executor": "warp-speed"}, "executor"),
        ({5: 1}, "5"),
    ],
)
def test_option_errors_name_the_key(options: dict[Any, Any], key: str) -> None:
    with pytest.raises(OptionError) as caught:
        from_mapping(options)
    assert caught.value.key == key


def test_graceful_stop_and_both_spellings() -> None:
    assert from_mapping({"gracefulStop": "5s"}).graceful_stop == 5.0
    assert from_mapping({"graceful_stop": 0}).graceful_stop == 0.0
    assert from_mapping({"maxVUs": 3}).max_vus == 3
    with pytest.raises(OptionError, match="given twice"):
        from_mapping({"start_rate": 1, "startRate": 2})
