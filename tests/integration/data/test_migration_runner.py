"""The migration runner on real processes and a real journal: argument lists reach the command as they are (shell
metacharacters included), values arrive through the environment, each command runs once, a timeout kills it, and
a new controller adopts — never reruns, never forgets — a command the previous one left behind."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from greenflag.data.migrations import MigrationRunner, spawn_argv
from greenflag.platform.process import pid_alive
from greenflag.rollout.actions import RunMigration
from greenflag.rollout.datastages import migration_action
from greenflag.rollout.hooks import HookFiles
from greenflag.rollout.model import HookOutcome, HookState, Status
from greenflag.rollout.store import Store
from greenflag.spec import Spec
from tests.support import wait_until_async

pytestmark = pytest.mark.timeout(60)

HOSTILE = 'it\'s $(touch pwned) `id` ; rm -rf / && "quoted" | cat > x *'
STATE = "state $(touch pwned2) 'q' \"d\" `id`"  # the journal and the migrations' files live here

# Records its argument list, its environment's GREENFLAG_* and DB_* values and its working directory, and counts
# its runs in runs.txt; sleeps for $SLEEP seconds first, exits with $EXIT.
RECORDER = """
import json, os, sys, time
time.sleep(float(os.environ.get("SLEEP", "0")))
with open("runs.txt", "a") as fh:
    fh.write(sys.argv[1] + "\\n")
env = {k: v for k, v in os.environ.items() if k.startswith(("GREENFLAG_", "DB_"))}
with open(sys.argv[1] + ".json", "w") as fh:
    json.dump({"argv": sys.argv[1:], "env": env, "cwd": os.getcwd()}, fh)
print("recorded", sys.argv[1])
sys.exit(int(os.environ.get("EXIT", "0")))
"""


def make_spec(tmp: Path, **migrations: Any) -> Spec:
    (tmp / "record.py").write_text(RECORDER)
    data: dict[str, Any] = {
        "up": [sys.executable, "record.py", "up", HOSTILE],
        "down": [sys.executable, "record.py", "down"],
        "check": f"{sys.executable} record.py check",
        "env": {"DB_URL": "postgresql://u:p@127.0.0.1/db?x=$(id)&y=`id`"},
        **migrations,
    }
    spec = Spec.model_validate(
        {
            "service": "svc",
            "strategy": {"canary": {"steps": [{"set_weight": 50}]}},
            "platform": {"command": "./app --port {port}"},
            "migrations": data,
            "state_dir": str(tmp / STATE),
        }
    )
    (tmp / "greenflag.yaml").write_text("# the spec's directory is where commands run\n")
    spec.source = tmp / "greenflag.yaml"
    return spec


def status(version: str = "v2", stable: str | None = "v1", rollout_id: int = 7) -> Status:
    return Status(rollout_id=rollout_id, service="svc", version=version, stable=stable, strategy="canary")


def action(spec: Spec, key: str) -> RunMigration:
    assert spec.migrations is not None
    found = migration_action(spec.migrations, key)
    assert found is not None
    return found


async def finished(runner: MigrationRunner, st: Status, key: str, timeout: float = 20.0) -> HookState:
    async def done() -> bool:
        state = runner.states(st).get(key)
        return state is not None and state.outcome is not HookOutcome.STARTED

    await wait_until_async(done, timeout=timeout, what=f"{key} finished")
    return runner.states(st)[key]


def runs(tmp: Path) -> list[str]:
    path = tmp / "runs.txt"
    return path.read_text().split() if path.exists() else []


async def test_arguments_and_environment_arrive_as_they_are(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    store = Store.for_state_dir(spec.state_dir)
    runner = MigrationRunner(spec, store)
    st = status()
    runner.start(st, action(spec, "migrate_up"))
    state = await finished(runner, st, "migrate_up")
    assert state == HookState(HookOutcome.OK, "exit 0")
    seen = json.loads((tmp_path / "up.json").read_text())
    assert seen["argv"] == ["up", HOSTILE]  # one argument, unchanged: no shell read it
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    assert seen["cwd"] == str(tmp_path)
    assert seen["env"] == {
        "DB_URL": "postgresql://u:p@127.0.0.1/db?x=$(id)&y=`id`",
        "GREENFLAG_SERVICE": "svc",
        "GREENFLAG_VERSION": "v2",
        "GREENFLAG_STABLE": "v1",
        "GREENFLAG_ROLLOUT_ID": "7",
        "GREENFLAG_MIGRATION": "up",
    }
    runner.start(st, action(spec, "migration_check"))
    await finished(runner, st, "migration_check")
    assert json.loads((tmp_path / "check.json").read_text())["env"]["GREENFLAG_MIGRATION_AFTER"] == "up"
    # asked again (a later tick, another controller): never a second run
    runner.start(st, action(spec, "migrate_up"))
    await MigrationRunner(spec, store).aclose()
    MigrationRunner(spec, store).start(st, action(spec, "migrate_up"))
    await asyncio.sleep(0.3)
    assert runs(tmp_path) == ["up", "check"]
    journal = {run.key: run for run in store.hook_runs(7)}
    assert journal["migrate_up"].output.strip() == "recorded up"
    assert (Path(spec.state_dir) / "migrations" / "7-migrate_up.log").read_text().strip() == "recorded up"
    await runner.aclose()


async def test_a_failure_names_the_exit_status_and_the_last_line(tmp_path: Path) -> None:
    failing = [sys.executable, "-c", "print('step 1'); print('column b is in use'); exit(3)"]
    spec = make_spec(tmp_path, env={"EXIT": "3"}, up=failing)
    runner = MigrationRunner(spec, Store.for_state_dir(spec.state_dir))
    runner.start(status(), action(spec, "migrate_up"))
    state = await finished(runner, status(), "migrate_up")
    assert state == HookState(HookOutcome.FAILED, "exit 3: column b is in use")
    runner.start(status(), action(spec, "migrate_down"))
    assert (await finished(runner, status(), "migrate_down")).detail.startswith("exit 3: recorded down")
    await runner.aclose()


async def test_a_command_that_cannot_start_fails_in_one_line(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, up="no-such-migration-tool upgrade")
    runner = MigrationRunner(spec, Store.for_state_dir(spec.state_dir))
    runner.start(status(), action(spec, "migrate_up"))
    state = await finished(runner, status(), "migrate_up")
    assert state.outcome is HookOutcome.FAILED
    assert state.detail.startswith("exit 127: ") and "no-such-migration-tool" in state.detail
    await runner.aclose()


async def test_a_timeout_kills_the_command_and_what_it_started_and_fails(tmp_path: Path) -> None:
    # the command starts a child of its own, as migration tools do, and both would sleep for a minute
    code = (
        "import os, subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])"
    )
    code += "; open('pids', 'w').write(f'{os.getpid()} {p.pid}'); time.sleep(60)"
    spec = make_spec(tmp_path, up={"run": [sys.executable, "-c", code], "timeout": "800ms"})
    runner = MigrationRunner(spec, Store.for_state_dir(spec.state_dir))
    runner.start(status(), action(spec, "migrate_up"))
    state = await finished(runner, status(), "migrate_up")
    assert state.outcome is HookOutcome.FAILED and state.detail.startswith("timed out after 0.")
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    await wait_until_async(lambda: asyncio.sleep(0, not any(pid_alive(p) for p in pids)), what="the group killed")
    await runner.aclose()


async def test_a_new_controller_waits_for_a_running_command_and_never_reruns_it(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, env={"SLEEP": "1"})
    store = Store.for_state_dir(spec.state_dir)
    first = MigrationRunner(spec, store)
    first.start(status(), action(spec, "migrate_up"))
    await first.aclose()  # the controller goes away; the command runs on, detached
    second = MigrationRunner(Spec.model_validate(spec.model_dump()), Store.for_state_dir(spec.state_dir))
    second.spec.source = spec.source
    assert second.states(status())["migrate_up"].outcome is HookOutcome.STARTED
    assert (await finished(second, status(), "migrate_up")).outcome is HookOutcome.OK
    assert runs(tmp_path) == ["up"]
    await second.aclose()


async def test_journaled_but_never_started_is_started_now_and_started_without_pid_is_adopted(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, env={"SLEEP": "0.5"})
    store = Store.for_state_dir(spec.state_dir)
    # the controller died right after journaling `started`, before it spawned the command: it never ran
    assert store.hook_started(7, "migrate_up", "…")
    # …and here it died after spawning, before journaling the pid: the wrapper's marker tells that it runs
    assert store.hook_started(7, "migrate_down", "…")
    files = HookFiles.under(Path(spec.state_dir) / "migrations", "7-migrate_down")
    spawn_argv(action(spec, "migrate_down").argv, files, env={"SLEEP": "0.5"}, cwd=str(tmp_path))
    await wait_until_async(lambda: asyncio.sleep(0, Path(f"{files.rc}.pid").exists()), what="the wrapper's marker")
    runner = MigrationRunner(spec, store)
    runner.states(status())
    assert (await finished(runner, status(), "migrate_up")).outcome is HookOutcome.OK
    assert (await finished(runner, status(), "migrate_down")).outcome is HookOutcome.OK
    assert sorted(runs(tmp_path)) == ["down", "up"]  # each exactly once
    await runner.aclose()
