"""The start-up stages (pure): instances that exit before ready are relaunched within platform.max_restarts, then
the version is rolled back naming the cause; the launch has a deadline (platform.start_timeout)."""

from __future__ import annotations

from typing import Any

from greenflag.platform.base import InstanceExit
from greenflag.rollout.actions import LaunchVersion
from greenflag.rollout.model import Observations, Phase, Status
from greenflag.rollout.steps import decide, new_status
from greenflag.spec import Spec

T0 = 1_000_000.0
BOOM = InstanceExit("v2", "v2-0", 3, "starting on 4242\nfatal: cannot open config.yaml")


def make_spec(**platform: Any) -> Spec:
    data = {"command": "app --port {port}", "start_timeout": "30s", **platform}
    return Spec.model_validate(
        {"service": "svc", "platform": data, "strategy": {"canary": {"steps": [{"set_weight": 10}]}}}
    )


def at(spec: Spec, stage: str, **fields: Any) -> Status:
    status = new_status(spec, 1, "v2", "v1", T0)
    status.stage = stage
    for key, value in fields.items():
        setattr(status, key, value)
    return status


def exited(*exits: InstanceExit) -> Observations:
    return Observations(launched=frozenset({"v1"}), exits=exits)


def test_an_instance_that_exits_at_once_is_relaunched_and_counted() -> None:
    spec = make_spec(max_restarts=2)
    status = at(spec, "launch")
    new, actions = decide(spec, status, Observations(launched=frozenset({"v1"})), T0)
    assert actions == [LaunchVersion("v2")] and new.launch_started_at == T0
    new, actions = decide(spec, new, exited(BOOM), T0 + 1)
    assert actions == [LaunchVersion("v2")] and new.start_exits == 1
    event = new.events[-1]
    assert event.kind == "exited" and "v2-0 exited with code 3" in event.message and "exit 1 of 3" in event.message


def test_one_exit_more_than_max_restarts_rolls_back_naming_code_and_output() -> None:
    spec = make_spec(max_restarts=2)
    status = at(spec, "launch", launch_started_at=T0)
    for i in range(3):
        status, actions = decide(spec, status, exited(BOOM), T0 + i)
    assert (status.phase, status.start_exits, status.stage) == (Phase.DEGRADED, 3, "scale_down_canary")
    assert LaunchVersion("v2") not in actions
    rollback = next(e for e in status.events if e.kind == "rollback")
    assert rollback.trigger == "launch" and rollback.limit == "max_restarts 2"
    assert "exited with code 3; last output: starting on 4242 / fatal: cannot open config.yaml" in rollback.message
    assert "3 exits" in rollback.message
    assert status.weights == {"v1": 100}


def test_exits_while_waiting_for_readiness_count_too() -> None:
    spec = make_spec(max_restarts=0)
    status = at(spec, "ready", launch_started_at=T0)
    new, _ = decide(spec, status, exited(BOOM), T0 + 1)
    assert new.phase is Phase.DEGRADED and "cannot start" in (new.abort_reason or "")


def test_the_launch_has_a_deadline_from_the_first_launch() -> None:
    spec = make_spec(max_restarts=100)
    status = at(spec, "launch", launch_started_at=T0, start_exits=5, last_exit=BOOM.describe())
    new, _ = decide(spec, status, Observations(launched=frozenset({"v1"})), T0 + 29)
    assert new.phase is Phase.PROGRESSING
    new, _ = decide(spec, new, Observations(launched=frozenset({"v1"})), T0 + 31)
    rollback = next(e for e in new.events if e.kind == "rollback")
    assert rollback.limit == "start_timeout 30s" and "last exit: v2-0 exited with code 3" in rollback.message
    ready = at(spec, "ready", launch_started_at=T0)  # the deadline covers launch and readiness together
    new, _ = decide(spec, ready, Observations(launched=frozenset({"v1", "v2"})), T0 + 31)
    assert new.phase is Phase.DEGRADED


def test_an_exit_after_ready_rolls_back_at_once_with_its_cause() -> None:
    spec = make_spec()
    status = at(spec, "step:0", weights={"v1": 90, "v2": 10})
    new, _ = decide(spec, status, exited(InstanceExit("v2", "v2-0", -9, "")), T0)
    rollback = next(e for e in new.events if e.kind == "rollback")
    assert (rollback.trigger, rollback.value) == ("instances", -9)
    assert "v2-0 was killed by signal 9; no output" in rollback.message


def test_the_journal_keeps_the_counts_across_a_restart() -> None:
    spec = make_spec(max_restarts=1)
    status = at(spec, "launch")
    status, _ = decide(spec, status, exited(BOOM), T0)
    restored = Status.from_json(status.to_json())
    assert (restored.start_exits, restored.last_exit, restored.launch_started_at) == (1, BOOM.describe(), T0)
    final, _ = decide(spec, restored, exited(BOOM), T0 + 1)
    assert final.phase is Phase.DEGRADED
