"""The User API's pure parts: task weights and picks, waits, checks, steps."""

from __future__ import annotations

from collections import Counter

import pytest

from greenflag import User, between, constant, pacing, task
from greenflag.load.http.session import HttpSession
from greenflag.load.metrics.series import Registry
from greenflag.load.scenarios.user import first_phase, next_phase, pick, task_table
from tests.unit.load.scenarios.users import Shop


class Base(User):
    abstract = True

    @task(2)
    async def a(self) -> None: ...

    @task(5)
    async def b(self) -> None: ...


class Child(Base):
    async def b(self) -> None: ...  # overridden without @task: no longer a task

    @task(1)
    async def c(self) -> None: ...


def test_task_table_in_definition_order_with_weights() -> None:
    assert task_table(Shop) == [("browse", 3), ("buy", 1)]
    assert task_table(Child) == [("a", 2), ("c", 1)]


@pytest.mark.parametrize("weight", [0, -1, 1.5, True])
def test_task_weight_must_be_a_positive_integer(weight: object) -> None:
    with pytest.raises(ValueError, match="weight must be an integer"):
        task(weight)(lambda self: None)  # type: ignore[call-overload]


def test_pick_over_cumulative_weights() -> None:
    cumulative = [3, 4, 5]
    assert [pick(cumulative, u) for u in (0.0, 0.59, 0.6, 0.79, 0.8, 0.999)] == [0, 0, 1, 1, 2, 2]


def test_picks_follow_the_weights_and_are_deterministic() -> None:
    cumulative = [5, 7, 10, 11]
    phase = first_phase(7)
    picks = []
    for _ in range(11_000):
        picks.append(pick(cumulative, phase))
        phase = next_phase(phase)
    counts = Counter(picks)
    assert [counts[i] for i in range(4)] == pytest.approx([5000, 2000, 3000, 1000], abs=5)
    again = [pick(cumulative, p) for p in _phases(first_phase(7), 50)]
    assert again == picks[:50]
    assert first_phase(1) != first_phase(2)


def _phases(start: float, count: int) -> list[float]:
    out = [start]
    while len(out) < count:
        out.append(next_phase(out[-1]))
    return out


def test_waits() -> None:
    assert constant(1.5).delay(10.0) == 1.5
    assert pacing(2.0).delay(0.5) == 1.5
    assert pacing(2.0).delay(3.0) == 0.0
    assert all(0.5 <= between(0.5, 2).delay(0.0) <= 2 for _ in range(100))
    with pytest.raises(ValueError, match="high is below low"):
        between(2, 1)
    with pytest.raises(ValueError, match="seconds"):
        constant(-1)


def _user(cls: type[User] = Shop) -> User:
    registry = Registry(start=0.0)
    return cls(1, HttpSession(registry, None), registry)


def test_check_never_raises_and_counts() -> None:
    user = _user()
    assert user.check(200, "ok", lambda s: s == 200)
    assert not user.check(None, "raises", lambda r: r.status == 200)
    assert not user.check(0, "falsy")
    assert user.registry.checks == {"ok": [1, 0], "raises": [0, 1], "falsy": [0, 1]}


def test_step_tags_requests_and_records_duration() -> None:
    user = _user()
    with user.step("checkout"):
        assert user.http.step == "checkout"
        with user.step("pay"):
            assert user.http.step == "checkout::pay"
    assert user.http.step is None
    names = {tags for name, tags in user.registry.trends if name == "step_duration"}
    assert names == {(("step", "checkout"),), (("step", "checkout::pay"),)}


def test_step_records_even_when_the_body_raises() -> None:
    user = _user()
    with pytest.raises(KeyError), user.step("broken"):
        raise KeyError("x")
    assert user.http.step is None
    assert (("step_duration", (("step", "broken"),))) in user.registry.trends
