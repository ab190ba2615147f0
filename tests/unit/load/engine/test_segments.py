"""Execution segments (k6's, for equal parts): the workers' parts of a plan add up to exactly the single-process plan
— VUs at every moment of a ramp, VU numbers, open-model iterations (interleaved, so the rates add up to the rate),
iteration budgets — whatever the numbers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from greenflag.load.engine import schedules as sch


def parts(count: int) -> list[sch.Segment]:
    return [sch.Segment(index, count) for index in range(count)]


@given(n=st.integers(0, 10_000), count=st.integers(1, 64))
def test_vus_split_exactly_and_keep_their_numbers(n: int, count: int) -> None:
    shares = [segment.share(n) for segment in parts(count)]
    assert sum(shares) == n and max(shares) - min(shares) <= 1
    numbers = sorted(
        segment.first_vu + segment.vu_step * j for segment in parts(count) for j in range(segment.share(n))
    )
    assert numbers == list(range(1, n + 1))  # VU 1, 2, … n, each in one worker, under its single-process number


@given(
    start=st.integers(0, 50),
    targets=st.lists(st.tuples(st.floats(0.1, 20), st.integers(0, 200)), min_size=1, max_size=4),
    count=st.integers(1, 8),
    t=st.floats(0, 100),
)
def test_a_ramp_of_vus_adds_up_at_every_moment(
    start: int, targets: list[tuple[float, int]], count: int, t: float
) -> None:
    stages = [sch.Stage(d, v) for d, v in targets]
    whole = sch.vus_at(start, stages, t)
    assert sum(segment.share(whole) for segment in parts(count)) == whole


@given(
    start=st.floats(0, 50),
    stages=st.lists(st.tuples(st.floats(0.1, 10), st.floats(0, 80)), min_size=1, max_size=3),
    count=st.integers(1, 6),
)
def test_open_model_schedules_interleave_into_the_single_one(
    start: float, stages: list[tuple[float, float]], count: int
) -> None:
    plan = [sch.Stage(d, r) for d, r in stages]
    whole = list(sch.arrival_offsets(start, plan))
    mine = [
        [offset for i, offset in enumerate(sch.arrival_offsets(start, plan)) if segment.owns(i)]
        for segment in parts(count)
    ]
    assert sorted(offset for own in mine for offset in own) == sorted(whole)
    assert sum(len(own) for own in mine) == len(whole)
    assert max(map(len, mine)) - min(map(len, mine)) <= 1  # the rate is shared evenly


def test_a_constant_rate_is_split_into_phase_shifted_rates() -> None:
    # 10/s over 1 s between two workers: 0, .2, .4, .6, .8 and .1, .3, .5, .7, .9 — each 5/s, together 10/s
    offsets = list(sch.arrival_offsets(10.0, [sch.Stage(1.0, 10.0)]))
    first = [o for i, o in enumerate(offsets) if sch.Segment(0, 2).owns(i)]
    second = [o for i, o in enumerate(offsets) if sch.Segment(1, 2).owns(i)]
    assert [round(o, 3) for o in first] == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert [round(o, 3) for o in second] == [0.1, 0.3, 0.5, 0.7, 0.9]


@given(total=st.integers(1, 100_000), vus=st.integers(1, 500), count=st.integers(1, 16))
def test_a_shared_budget_is_split_exactly_in_proportion_to_the_vus(total: int, vus: int, count: int) -> None:
    taking_part = min(count, vus)
    budget = [segment.iterations(total, vus) for segment in parts(taking_part)]
    assert sum(budget) == total
    for segment, iterations in zip(parts(taking_part), budget, strict=True):
        exact = total * segment.share(vus) / vus
        assert abs(iterations - exact) < 1.0


def test_a_plan_with_fewer_vus_than_workers_runs_on_fewer_workers() -> None:
    assert sch.participants(sch.ConstantVUs(3, 10.0), 8) == 3
    assert sch.participants(sch.ConstantVUs(30, 10.0), 8) == 8
    assert sch.participants(sch.ConstantArrivalRate(100.0, 10.0, 2, 500), 8) == 2  # pre-allocated VUs
    assert sch.participants(sch.RampingVUs(0, (sch.Stage(5, 6), sch.Stage(5, 1))), 4) == 4
    assert sch.participants(sch.PerVUIterations(1, 10, 60.0), 2) == 1
