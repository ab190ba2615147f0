"""CloudWatch alarms as rollback triggers, decided from one poll (CodeDeploy's semantics)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from greenflag.analysis.alarms import AlarmPoll, AlarmState, alarm_trigger
from greenflag.config import load_spec
from greenflag.errors import ConfigError
from greenflag.spec import AlarmsSpec

SINCE = 1767225600.0  # 2026-01-01T00:00:00Z


def spec(**keys: Any) -> AlarmsSpec:
    return AlarmsSpec.model_validate({"names": ["shop-5xx", "shop-p95"], **keys})


def poll(**states: str) -> AlarmPoll:
    return AlarmPoll(at=SINCE, states=tuple(AlarmState(n.replace("_", "-"), s, f"{n} reason", SINCE)
                                            for n, s in states.items()))  # fmt: skip


def test_any_listed_alarm_in_alarm_rolls_back_naming_it_its_reason_and_time() -> None:
    found = alarm_trigger(spec(), poll(shop_5xx="OK", shop_p95="ALARM"))
    assert found is not None
    assert (found.trigger, found.limit) == ("alarm shop-p95", "not ALARM")
    assert found.value == {"state": "ALARM", "reason": "shop_p95 reason", "since": "2026-01-01T00:00:00Z"}
    assert found.message == "CloudWatch alarm shop-p95 is in ALARM since 2026-01-01T00:00:00Z: shop_p95 reason"


@pytest.mark.parametrize(
    ("keys", "states", "rolls_back"),
    [
        ({}, {"shop_5xx": "OK", "shop_p95": "OK"}, False),
        ({}, {"shop_5xx": "INSUFFICIENT_DATA", "shop_p95": "OK"}, False),  # as CodeDeploy
        ({"on_insufficient_data": "rollback"}, {"shop_5xx": "INSUFFICIENT_DATA", "shop_p95": "OK"}, True),
        ({}, {"shop_5xx": "OK"}, True),  # a listed alarm that does not exist: its state cannot be read
        ({"ignore_poll_failure": True}, {"shop_5xx": "OK"}, False),
        ({"ignore_poll_failure": True}, {"shop_5xx": "OK", "shop_p95": "ALARM"}, True),  # ignores failures only
    ],
)
def test_the_decision_table(keys: dict[str, Any], states: dict[str, str], rolls_back: bool) -> None:
    assert (alarm_trigger(spec(**keys), poll(**states)) is not None) is rolls_back


def test_a_failed_poll_rolls_back_unless_ignored() -> None:
    failed = AlarmPoll(at=SINCE, error="DescribeAlarms failed: AccessDenied: not authorized")
    found = alarm_trigger(spec(), failed)
    assert found is not None and found.trigger == "alarms" and "AccessDenied" in found.message
    assert found.limit == "alarm states readable (ignore_poll_failure: false)"
    assert alarm_trigger(spec(ignore_poll_failure=True), failed) is None


def test_the_spec_refuses_what_cloudwatch_would() -> None:
    for names in ([], ["a", "a"], ["x" * 256], ["a\nb"]):
        with pytest.raises(ValueError):
            AlarmsSpec.model_validate({"names": names})
    with pytest.raises(ValueError):
        AlarmsSpec.model_validate({"names": ["a"], "interval": 0})


def test_a_bad_alarms_section_names_its_key(tmp_path: Path) -> None:
    path = tmp_path / "greenflag.yaml"
    path.write_text("service: s\nplatform: {command: 'app --port {port}'}\n"
                    "strategy: {canary: {steps: [{set_weight: 10}]}}\n"
                    "analysis:\n  alarms: {names: [a, a], on_insufficient_data: alarm}\n")  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    problems = [p.removeprefix(f"{path}:5: ") for p in info.value.problems]
    assert any(p.startswith("analysis.alarms.names: ") and "listed twice" in p for p in problems), problems
    assert any(p.startswith("analysis.alarms.on_insufficient_data: ") for p in problems), problems
