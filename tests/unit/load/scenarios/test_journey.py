"""User classes as VUs: classes share VUs by weight; script errors are counted."""

from __future__ import annotations

from collections import Counter

import pytest

from greenflag.load.metrics.series import Registry
from greenflag.load.scenarios.journey import ClassPlan, UserScenario, count_error
from tests.unit.load.scenarios.users import Shop


def test_classes_share_vus_by_weight() -> None:
    class Heavy(Shop):
        weight = 3

    class Light(Shop):
        weight = 1

    scenario = UserScenario([ClassPlan.of(Heavy, None), ClassPlan.of(Light, None)], Registry(start=0.0))
    counts = Counter(scenario.plan_for(vu).cls.__name__ for vu in range(1, 1001))
    assert counts["Heavy"] == pytest.approx(750, abs=5)
    assert ClassPlan.of(Shop, None).cumulative == [3, 4]


def test_script_errors_counted_and_first_of_each_type_reported(capsys: pytest.CaptureFixture[str]) -> None:
    registry = Registry(start=0.0)
    seen: set[str] = set()
    for _ in range(3):
        try:
            raise KeyError("missing")
        except KeyError as exc:
            count_error(registry, exc, seen)
    assert registry.script_errors == {"KeyError": 3}
    err = capsys.readouterr().err
    assert err.count("script error KeyError") == 1
    assert f"{__file__}:" in err
