"""The data stages of the pure step machine: where migrations, their guard and cache invalidations sit in the plan,
what each asks the controller to do, and what each result means (spec + status + observations + now → status,
actions)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from greenflag.rollout.actions import Invalidate, RunGuard, RunMigration, SetHeaderRoute, SetWeights, StopHook
from greenflag.rollout.datastages import TRAFFIC_CONFIRM_S
from greenflag.rollout.model import HookOutcome, HookState, Observations, Phase, Status
from greenflag.rollout.steps import decide, new_status, plan
from greenflag.spec import Spec

T0 = 1_000_000.0
UP = ["python3", "migrate.py", "up", "--to", "$(id)"]


def make_spec(*, guard: bool = True, check: bool = True, cdn: bool = True, **extra: Any) -> Spec:
    migrations: dict[str, Any] = {"up": UP, "down": "python3 migrate.py down", "timeout": "2m"}
    if check:
        migrations["check"] = {"run": "python3 migrate.py check", "timeout": "30s"}
    if guard:
        migrations["guard"] = {"checks": [{"http": "/items"}, {"exec": [sys.executable, "smoke.py", "{target}"]}],
                               "timeout": "20s"}  # fmt: skip
    data: dict[str, Any] = {
        "service": "svc",
        "strategy": {"canary": {"steps": [{"set_weight": 50}, {"pause": {}}], "abort_scale_down_delay": "0s"}},
        "platform": {"command": "./app --port {port}", "start_timeout": "30s", "stop_grace": "1s"},
        "migrations": migrations,
        **extra,
    }
    if cdn:
        data["cdn"] = {"purge": [{"url": "http://127.0.0.1:6081/"}], "delay": "1s"}
    return Spec.model_validate(data)


def at(spec: Spec, stage: str, *, stable: str | None = "v1", **fields: Any) -> Status:
    status = new_status(spec, 1, "v2", stable, T0)
    status.stage, status.stage_started_at = stage, T0
    for key, value in fields.items():
        setattr(status, key, value)
    return status


def obs(**data_steps: HookState) -> Observations:
    return Observations(launched=frozenset({"v1", "v2"}), data_steps=data_steps)


OK, STARTED = HookState(HookOutcome.OK, "exit 0"), HookState(HookOutcome.STARTED)


def failed(detail: str) -> HookState:
    return HookState(HookOutcome.FAILED, detail)


def test_the_plan_places_migrations_before_any_traffic_and_caches_after_it_moved() -> None:
    spec = make_spec()
    forward = plan(spec, at(spec, "launch"))
    assert forward[3:9] == ["after_install", "migration_baseline", "migrate_up", "migration_guard", "migration_check",
                            "test_traffic"]  # fmt: skip
    assert forward[-4:] == ["promote", "cdn_promote", "scale_down", "done"]
    assert plan(spec, at(spec, "launch", aborted=True)) == [
        "cdn_rollback", "migrate_down", "migration_check_down", "on_rollback", "scale_down_canary", "done"]  # fmt: skip
    # a first deployment has no stable version to guard; nothing configured, nothing added
    assert "migration_guard" not in plan(spec, at(spec, "launch", stable=None, initial=True))
    bare = make_spec(guard=False, check=False, cdn=False)
    assert plan(bare, at(bare, "launch"))[3:6] == ["after_install", "migrate_up", "test_traffic"]
    blue_green = make_spec(strategy={"blue_green": {"auto_promote": True}})
    assert plan(blue_green, at(blue_green, "launch"))[3:9] == forward[3:9]
    assert plan(blue_green, at(blue_green, "launch"))[-4:] == ["promote", "cdn_promote", "scale_down", "done"]
    plain = Spec.model_validate(
        {
            "service": "s",
            "strategy": {"canary": {"steps": [{"set_weight": 50}]}},
            "platform": {"command": "./app {port}"},
        }
    )
    assert plan(plain, at(plain, "launch", aborted=True)) == ["on_rollback", "scale_down_canary", "done"]


def test_forward_stages_run_in_order_and_reach_test_traffic() -> None:
    spec = make_spec()
    s, actions = decide(spec, at(spec, "migration_baseline"), obs(), T0)
    assert actions == [RunGuard("migration_baseline", "v1")] and s.stage == "migration_baseline"
    s, actions = decide(spec, s, obs(migration_baseline=HookState(HookOutcome.OK, "v1 passed")), T0 + 1)
    assert s.stage == "migrate_up"
    assert actions == [RunMigration("migrate_up", "up", tuple(UP), 120.0)]  # the argument list as it is
    s, actions = decide(spec, s, obs(migrate_up=STARTED), T0 + 2)
    assert actions == [] and s.stage == "migrate_up"  # running: nothing asked again
    s, actions = decide(spec, s, obs(migrate_up=OK), T0 + 3)
    assert s.stage == "migration_guard" and actions == [RunGuard("migration_guard", "v1")]
    s, actions = decide(spec, s, obs(migrate_up=OK, migration_guard=HookState(HookOutcome.OK, "v1 passed")), T0 + 4)
    assert actions == [RunMigration("migration_check", "check", ("python3", "migrate.py", "check"), 30.0, "up")]
    s, actions = decide(spec, s, obs(migrate_up=OK, migration_check=OK), T0 + 5)
    assert SetHeaderRoute("v2") in actions and s.stage == "step:1" and s.weights == {"v1": 50, "v2": 50}
    assert [e.kind for e in s.events][1:] == [
        "guard", "migration", "migration", "guard", "migration", "test_traffic", "step", "paused"]  # fmt: skip


def test_a_failing_guard_refuses_the_release_naming_the_check_and_down_follows() -> None:
    spec = make_spec()
    detail = "checks[0] GET /items failed on v1: Failing after 3 checks (0 ok / 3 failed in a row): HTTP 500"
    s = at(spec, "migration_guard", data_steps={"migrate_up": OK})
    s, actions = decide(spec, s, obs(migrate_up=OK, migration_guard=failed(detail)), T0 + 1)
    assert s.phase is Phase.DEGRADED and s.aborted and s.stage == "migrate_down"  # no traffic reached v2: no purge
    assert s.data_steps["cdn_rollback"].detail.startswith("skipped")
    assert SetWeights((("v1", 100),)) in actions and not any(isinstance(a, RunMigration) for a in actions)
    rollback = next(e for e in s.events if e.kind == "rollback")
    assert rollback.trigger == "guard checks[0] GET /items" and rollback.value == detail
    assert rollback.message == f"rolling back v2: the expand/contract guard: v1 breaks on the migrated schema: {detail}"
    # the router's read-back confirms v1 only: down runs
    s.router_weights = {"v1": 100}
    s, actions = decide(spec, s, obs(migrate_up=OK), T0 + 2)
    assert actions == [RunMigration("migrate_down", "down", ("python3", "migrate.py", "down"), 120.0)]
    s, actions = decide(spec, s, obs(migrate_up=OK, migrate_down=OK), T0 + 3)
    assert actions[0] == RunMigration("migration_check_down", "check", ("python3", "migrate.py", "check"), 30.0, "down")


def test_a_failing_baseline_runs_no_migration_at_all() -> None:
    spec = make_spec(cdn=False)
    s = at(spec, "migration_baseline")
    s, actions = decide(spec, s, obs(migration_baseline=failed("checks[1] python3 smoke.py failed on v1: exit 1")), T0)
    assert s.aborted and "fails its checks before the migration, so the migration was not run" in s.abort_reason
    s, actions = decide(spec, s, obs(), T0 + 1)
    assert not any(isinstance(a, RunMigration) for a in actions)  # up never started: nothing to undo
    assert "migrate_down" not in s.data_steps


def test_a_guard_that_cannot_decide_refuses_at_its_timeout() -> None:
    spec = make_spec()
    s = at(spec, "migration_guard", data_steps={"migrate_up": OK})
    s, actions = decide(spec, s, obs(migrate_up=OK, migration_guard=STARTED), T0 + 19)
    assert not s.aborted and actions == [RunGuard("migration_guard", "v1")]
    s, _ = decide(spec, s, obs(migrate_up=OK, migration_guard=STARTED), T0 + 21)
    rollback = next(e for e in s.events if e.kind == "rollback")
    assert s.aborted and rollback.trigger == "migration_guard" and rollback.value == "undecided"
    assert "neither passed nor failed within 20s (migrations.guard.timeout)" in rollback.message


@pytest.mark.parametrize("key", ["migrate_up", "migration_check"])
def test_a_failing_migration_rolls_back_and_down_runs_even_after_a_failed_up(key: str) -> None:
    spec = make_spec(cdn=False)
    seen = {"migrate_up": OK} if key == "migration_check" else {}
    s = at(spec, key, data_steps=dict(seen), router_weights={"v1": 100})
    s, _ = decide(spec, s, obs(**{**seen, key: failed("exit 1: column b is in use")}), T0 + 1)
    rollback = next(e for e in s.events if e.kind == "rollback")
    assert s.aborted and rollback.trigger == key and rollback.limit == "exit status 0"
    assert "exit 1: column b is in use" in rollback.message
    s, actions = decide(spec, s, obs(**{**seen, key: failed("exit 1")}), T0 + 2)
    assert actions[0].key == "migrate_down"  # type: ignore[union-attr]


def test_down_waits_for_a_running_up_and_for_the_traffic_to_be_back_on_stable() -> None:
    spec = make_spec(cdn=False)
    s = at(spec, "step:0", data_steps={"migrate_up": STARTED}, router_weights={"v1": 50, "v2": 50})
    s, _ = decide(spec, s, Observations(launched=frozenset({"v1", "v2"}), commands=("abort",),
                                        data_steps={"migrate_up": STARTED}), T0)  # fmt: skip
    assert s.stage == "migrate_down"
    s, actions = decide(spec, s, obs(migrate_up=STARTED), T0 + 1)
    assert not any(isinstance(a, RunMigration) for a in actions)  # `up` still running, v2 still has traffic
    assert not any(isinstance(a, StopHook) for a in actions)  # a running migration is never stopped
    s, actions = decide(spec, s, obs(migrate_up=OK), T0 + 2)
    assert not any(isinstance(a, RunMigration) for a in actions)  # the router has not confirmed yet
    s.router_weights = {"v1": 100, "v2": 0}
    s, actions = decide(spec, s, obs(migrate_up=OK), T0 + 3)
    assert actions == [RunMigration("migrate_down", "down", ("python3", "migrate.py", "down"), 120.0)]


def test_a_router_that_never_confirms_delays_down_by_the_confirmation_limit_only() -> None:
    spec = make_spec(cdn=False)
    s = at(spec, "migrate_down", aborted=True, phase=Phase.DEGRADED, data_steps={"migrate_up": OK},
           router_weights={"v1": 50, "v2": 50})  # fmt: skip
    s, actions = decide(spec, s, obs(migrate_up=OK), T0 + TRAFFIC_CONFIRM_S - 1)
    assert actions == []
    s, actions = decide(spec, s, obs(migrate_up=OK), T0 + TRAFFIC_CONFIRM_S)
    assert actions[0].key == "migrate_down" and s.events[-1].kind == "router"  # type: ignore[union-attr]


def test_a_failing_down_is_recorded_and_the_rollback_goes_on() -> None:
    spec = make_spec(cdn=False, check=False)
    s = at(spec, "migrate_down", aborted=True, phase=Phase.DEGRADED, router_weights={"v1": 100},
           data_steps={"migrate_up": OK, "migrate_down": STARTED})  # fmt: skip
    s, _ = decide(spec, s, obs(migrate_up=OK, migrate_down=failed("exit 2: no such column")), T0 + 1)
    assert s.stage == "done" and s.phase is Phase.ROLLED_BACK
    assert [e.message for e in s.events if e.kind == "migration"][-2:] == [
        "migrate_down failed: exit 2: no such column",
        "migrate_down did not succeed: the schema may not be restored (see its output in the journal)"]  # fmt: skip


def test_caches_are_invalidated_after_the_delay_and_a_failure_does_not_undo_a_promotion() -> None:
    spec = make_spec()
    s = at(spec, "cdn_promote", phase=Phase.HEALTHY, stable="v2")
    s, actions = decide(spec, s, obs(), T0 + 0.5)
    assert actions == []  # cdn.delay: the old version's last answers land first
    s, actions = decide(spec, s, obs(), T0 + 1)
    assert actions == [Invalidate("cdn_promote")]
    s, actions = decide(spec, s, obs(cdn_promote=STARTED), T0 + 2)
    assert actions == [Invalidate("cdn_promote")]  # asked again until it ends (starting it is idempotent)
    s, _ = decide(spec, s, obs(cdn_promote=failed("PURGE http://127.0.0.1:6081/: HTTP 405, expected 200-299")), T0 + 3)
    assert s.phase is Phase.HEALTHY and s.stage == "done" and not s.aborted
    (event,) = [e for e in s.events if e.kind == "cdn_failed"]
    assert event.message == "cdn_promote failed: PURGE http://127.0.0.1:6081/: HTTP 405, expected 200-299"


def test_a_rollback_after_traffic_reached_the_version_invalidates_once_the_router_confirms() -> None:
    spec = make_spec(guard=False, check=False)
    s = at(spec, "cdn_rollback", aborted=True, phase=Phase.DEGRADED, backends=["v1", "v2"],
           data_steps={"migrate_up": OK}, router_weights={"v1": 0, "v2": 100})  # fmt: skip
    assert decide(spec, s, obs(migrate_up=OK), T0 + 2)[1] == []
    s.router_weights = {"v1": 100, "v2": 0}
    s, actions = decide(spec, s, obs(migrate_up=OK), T0 + 2)
    assert actions == [Invalidate("cdn_rollback")]
    s, actions = decide(
        spec, s, obs(migrate_up=OK, cdn_rollback=HookState(HookOutcome.OK, "PURGE …: HTTP 200")), T0 + 3
    )
    assert s.stage == "migrate_down" and actions[0].key == "migrate_down"  # type: ignore[union-attr]


def test_a_final_state_is_kept_and_the_status_round_trips() -> None:
    spec = make_spec()
    s = at(spec, "migration_check", data_steps={"migrate_up": OK, "migration_guard": HookState(HookOutcome.OK, "v1")})
    s, _ = decide(spec, s, obs(migrate_up=STARTED, migration_guard=STARTED), T0)  # a late, stale report
    assert s.data_steps["migrate_up"] == OK and s.data_steps["migration_guard"].outcome is HookOutcome.OK
    assert Status.from_json(s.to_json()) == s
    assert s.to_json()["data_steps"]["migrate_up"] == {"outcome": "ok", "detail": "exit 0"}
