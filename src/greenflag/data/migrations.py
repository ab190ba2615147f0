"""Runs a release's migration commands (`up`, `down`, `check`) once each per rollout, journaled like hooks.

A command is an argument list (split when greenflag.yaml was loaded) and runs without a shell of its own: a small
wrapper shell starts it as `"$@"` — its arguments are never read as shell text — in a session of its own, with
its output in `.greenflag/migrations/ROLLOUT-STAGE.log`, and writes its exit status to a `.rc` file. So a
controller killed with SIGKILL neither kills a migration nor loses its result. Values reach the command through
the environment only: `GREENFLAG_SERVICE`, `GREENFLAG_VERSION`, `GREENFLAG_STABLE`, `GREENFLAG_ROLLOUT_ID`,
`GREENFLAG_MIGRATION` (up, down, check), `GREENFLAG_MIGRATION_AFTER` (for check: up or down) and `migrations.env`.

The journal is the rollout journal's hooks table, under the stage's name (`migrate_up`, `migration_check`,
`migrate_down`, `migration_check_down`): `started` before the command runs, then its pid, then `finished`.
A command a new controller finds started but not finished:
- its pid was journaled, or the wrapper's `.pid` marker exists (it started): wait for it and take its exit
  status from the `.rc` file — never run it again;
- neither (the controller died after journaling, before starting it): it never ran, so it is started now.
Nothing is run twice and nothing is forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import subprocess
import time
from pathlib import Path

from greenflag.rollout.actions import RunMigration
from greenflag.rollout.datastages import MIGRATION_KEYS, migration_action
from greenflag.rollout.hooks import HookFiles, wait_hook
from greenflag.rollout.model import HookOutcome, HookState, Status
from greenflag.rollout.store import HookRun, Store
from greenflag.spec import MigrationsSpec, Spec

__all__ = ["MigrationRunner", "migration_env", "spawn_argv"]

# `"$@"` runs the argument list as it is; the status file's path arrives as $1, never inside the script text.
_WRAPPER = 'rc=$1; shift; echo $$ > "$rc.pid"; "$@"; echo $? > "$rc.tmp" && mv "$rc.tmp" "$rc"'


def migration_env(spec: MigrationsSpec, status: Status, action: RunMigration) -> dict[str, str]:
    """The environment a migration command runs with: greenflag's own, `migrations.env`, then the release's facts."""
    env = {**os.environ, **spec.env}
    env.update(
        GREENFLAG_SERVICE=status.service,
        GREENFLAG_VERSION=status.version,
        GREENFLAG_STABLE=status.stable or "",
        GREENFLAG_ROLLOUT_ID=str(status.rollout_id),
        GREENFLAG_MIGRATION=action.command,
    )
    if action.after is not None:
        env["GREENFLAG_MIGRATION_AFTER"] = action.after
    else:
        env.pop("GREENFLAG_MIGRATION_AFTER", None)
    return env


def spawn_argv(argv: tuple[str, ...], files: HookFiles, *, env: dict[str, str], cwd: str | None) -> int:
    """Start `argv` detached (own session, output to `files.log`); its exit status lands in `files.rc`."""
    files.log.parent.mkdir(parents=True, exist_ok=True)
    for stale in (files.rc, _marker(files)):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    with open(files.log, "wb") as log:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", _WRAPPER, "greenflag-migration", str(files.rc), *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    return proc.pid


def _marker(files: HookFiles) -> Path:
    return Path(f"{files.rc}.pid")


def _marker_pid(files: HookFiles) -> int | None:
    try:
        return int(_marker(files).read_text().strip())
    except (OSError, ValueError):
        return None


def _detail(ok: bool, detail: str, output: str) -> str:
    """The outcome, with the last line of output when it failed (what a rollback event should show)."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return detail if ok or not lines else f"{detail}: {lines[-1][:300]}"


class MigrationRunner:
    """Carries out RunMigration actions and reports the journaled state of each migration stage."""

    def __init__(self, spec: Spec, store: Store) -> None:
        self.spec = spec
        self.store = store
        self._tasks: dict[tuple[int, str], asyncio.Task[None]] = {}

    @property
    def _migrations(self) -> MigrationsSpec:
        assert self.spec.migrations is not None
        return self.spec.migrations

    def _files(self, rollout_id: int, key: str) -> HookFiles:
        return HookFiles.under(Path(self.spec.state_dir) / "migrations", f"{rollout_id}-{key}")

    def _cwd(self) -> str | None:
        base = self.spec.source.parent if self.spec.source is not None else None
        cwd = self._migrations.cwd
        if cwd is None:
            return str(base) if base is not None else None
        return str(base / cwd) if base is not None and not Path(cwd).is_absolute() else cwd

    def start(self, status: Status, action: RunMigration) -> None:
        """Journal the command as started, then run it — unless it was ever started before."""
        if (status.rollout_id, action.key) in self._tasks:
            return
        if not self.store.hook_started(status.rollout_id, action.key, shlex.join(action.argv)):
            return
        self._spawn(status, action)

    def _spawn(self, status: Status, action: RunMigration) -> None:
        files = self._files(status.rollout_id, action.key)
        env = migration_env(self._migrations, status, action)
        try:
            pid = spawn_argv(action.argv, files, env=env, cwd=self._cwd())
        except OSError as exc:  # e.g. migrations.cwd does not exist
            detail = f"cannot start {shlex.join(action.argv)!r}: {exc.strerror or exc}"
            self.store.hook_finished(status.rollout_id, action.key, HookOutcome.FAILED, detail)
            return
        self.store.hook_pid(status.rollout_id, action.key, pid)
        self._wait(status.rollout_id, action.key, pid, time.time(), action.timeout_s, child=True)

    def _wait(self, rollout_id: int, key: str, pid: int, started: float, timeout_s: float, *, child: bool) -> None:
        self._tasks[(rollout_id, key)] = asyncio.create_task(
            self._finish(rollout_id, key, pid, started, timeout_s, child=child)
        )

    async def _finish(
        self, rollout_id: int, key: str, pid: int, started: float, timeout_s: float, *, child: bool
    ) -> None:
        result = await wait_hook(
            pid, self._files(rollout_id, key), started_at=started, timeout_s=timeout_s, child=child
        )
        outcome = HookOutcome.OK if result.ok else HookOutcome.FAILED
        detail = _detail(result.ok, result.detail, result.output)
        self.store.hook_finished(rollout_id, key, outcome, detail, result.output)

    def states(self, status: Status) -> dict[str, HookState]:
        """The journaled state of every migration stage of the rollout; adopts commands a previous controller left."""
        states: dict[str, HookState] = {}
        for run in self.store.hook_runs(status.rollout_id):
            if run.key not in MIGRATION_KEYS:
                continue
            states[run.key] = HookState(run.outcome, run.detail)
            if run.outcome is HookOutcome.STARTED and (status.rollout_id, run.key) not in self._tasks:
                self._adopt(status, run)
        return states

    def _adopt(self, status: Status, run: HookRun) -> None:
        action = migration_action(self._migrations, run.key)
        timeout = action.timeout_s if action is not None else self._migrations.timeout
        files = self._files(status.rollout_id, run.key)
        pid = run.pid if run.pid is not None else _marker_pid(files)
        if pid is not None or files.rc.exists():  # it started: wait for it (or read its status), never rerun it
            self._wait(status.rollout_id, run.key, pid or 0, run.started, timeout, child=False)
        elif action is not None:  # journaled, never started: start it now
            self._spawn(status, action)

    async def aclose(self) -> None:
        for task in self._tasks.values():
            if not task.done():
                task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
