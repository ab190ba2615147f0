"""The SQLite journal: atomic saves, one in-flight rollout, hooks started once, commands consumed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenflag.errors import UsageError
from greenflag.platform.base import InstanceRecord
from greenflag.rollout.model import HookOutcome, Phase
from greenflag.rollout.steps import new_status
from greenflag.rollout.store import Store
from greenflag.spec import Spec

SPEC = Spec.model_validate(
    {"service": "svc", "platform": {"command": "app --port {port}"}, "strategy": {"canary": {"preset": "AllAtOnce"}}}
)


def start(store: Store, version: str):  # type: ignore[no-untyped-def]
    return store.create(
        "svc", version, lambda rid, latest: new_status(SPEC, rid, version, latest and latest.stable, 1.0)
    )


def test_create_refuses_a_second_rollout_in_flight(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    first = start(store, "v1")
    with pytest.raises(UsageError, match="in progress"):
        start(store, "v2")
    first.phase, first.stage, first.stable = Phase.HEALTHY, "done", "v1"
    store.save(first)
    second = start(store, "v2")
    assert (second.rollout_id, second.stable, second.initial) == (first.rollout_id + 1, "v1", False)
    assert [s.version for s in store.history("svc")] == ["v2", "v1"]


def test_journal_survives_reopening(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    status = start(store, "v1")
    status.step = 3
    store.save(status)
    store.close()
    again = Store(tmp_path / "state.db")
    assert again.latest("svc") == status


def test_hook_is_started_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    assert store.hook_started(1, "before_install[0]", "./x")
    assert not store.hook_started(1, "before_install[0]", "./x")
    assert store.hook_states(1)["before_install[0]"].outcome is HookOutcome.STARTED
    store.hook_finished(1, "before_install[0]", HookOutcome.OK, "exit 0", "hello")
    run = store.hook_runs(1)[0]
    assert (run.outcome, run.output, run.finished is not None) == (HookOutcome.OK, "hello", True)
    assert not store.hook_started(1, "before_install[0]", "./x")


def test_commands_are_consumed_with_the_status(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    status = start(store, "v1")
    store.post_command(status.rollout_id, "abort")
    pending = store.pending_commands(status.rollout_id)
    assert [kind for _, kind in pending] == ["abort"]
    store.save(status, [command_id for command_id, _ in pending])
    assert store.pending_commands(status.rollout_id) == []


def test_instances_are_journaled(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    record = InstanceRecord("v1-0", "svc", "v1", "http://127.0.0.1:1", 123, 1, 2.0)
    store.put_instance(record)
    assert store.instance_records("svc") == [record]
    store.drop_instance("v1-0")
    assert store.instance_records("svc") == []
