"""Runs RunHook actions exactly once per rollout, journaled: started (before it runs) → pid → finished.

Rule for a hook found `started` by a new controller (the old one died): if its pid was journaled, the hook
kept running detached; wait for it and take its exit status from its `.rc` file. If no pid was journaled
(the controller died between journaling and spawning) the hook is `interrupted`: it is never re-run, and a
forward hook counts as failed (the rollout rolls back); an `on_rollback` hook is skipped.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from greenflag.rollout.actions import RunHook
from greenflag.rollout.hooks import HookFiles, read_output, spawn_hook, stop_group, wait_hook
from greenflag.rollout.model import HookOutcome, HookState, Status
from greenflag.rollout.store import HookRun, Store
from greenflag.spec import Spec

__all__ = ["HookRunner"]

INTERRUPTED = "the controller stopped before it started it; not re-run (see docs/rollouts.md)"


class HookRunner:
    def __init__(self, spec: Spec, store: Store) -> None:
        self.spec = spec
        self.store = store
        self._tasks: dict[tuple[int, str], asyncio.Task[None]] = {}

    def _files(self, rollout_id: int, key: str) -> HookFiles:
        return HookFiles.under(Path(self.spec.state_dir) / "hooks", f"{rollout_id}-{key}")

    def _env(self, status: Status, lifecycle: str) -> dict[str, str]:
        return {
            "GREENFLAG_SERVICE": status.service,
            "GREENFLAG_VERSION": status.version,
            "GREENFLAG_STABLE": status.stable or "",
            "GREENFLAG_HOOK": lifecycle,
            "GREENFLAG_ROLLOUT_ID": str(status.rollout_id),
            "GREENFLAG_ROUTER_URL": self.spec.router.public_url() or "",
            "GREENFLAG_TEST_URL": self.spec.router.test_traffic_url() or "",  # an ALB's test listener, else the router
            "GREENFLAG_ROUTE_HEADER": self.spec.router.route_header,
        }

    def start(self, status: Status, action: RunHook) -> None:
        """Journal the hook as started, then run it — unless it was ever started before."""
        task_key = (status.rollout_id, action.key)
        if task_key in self._tasks or not self.store.hook_started(status.rollout_id, action.key, action.command):
            return
        source = self.spec.source
        cwd = str(source.parent) if source is not None else None
        files = self._files(status.rollout_id, action.key)
        pid = spawn_hook(action.command, files, env=self._env(status, action.lifecycle), cwd=cwd)
        self.store.hook_pid(status.rollout_id, action.key, pid)
        self._tasks[task_key] = asyncio.create_task(
            self._finish(status.rollout_id, action.key, pid, time.time(), action.timeout_s, child=True)
        )

    async def _finish(
        self, rollout_id: int, key: str, pid: int, started: float, timeout_s: float, *, child: bool = False
    ) -> None:
        files = self._files(rollout_id, key)
        result = await wait_hook(pid, files, started_at=started, timeout_s=timeout_s, child=child)
        outcome = HookOutcome.OK if result.ok else HookOutcome.FAILED
        self.store.hook_finished(rollout_id, key, outcome, result.detail, result.output)

    def states(self, status: Status) -> dict[str, HookState]:
        """The journaled hook states; adopts hooks a previous controller left running."""
        states: dict[str, HookState] = {}
        for run in self.store.hook_runs(status.rollout_id):
            if "[" not in run.key:
                continue  # a migration (greenflag.data) journaled in the same table, by its own runner
            states[run.key] = HookState(run.outcome, run.detail)
            if run.outcome is HookOutcome.STARTED and (status.rollout_id, run.key) not in self._tasks:
                states[run.key] = self._adopt(status.rollout_id, run)
        return states

    def _adopt(self, rollout_id: int, run: HookRun) -> HookState:
        if run.pid is None:
            self.store.hook_finished(rollout_id, run.key, HookOutcome.INTERRUPTED, INTERRUPTED)
            return HookState(HookOutcome.INTERRUPTED, INTERRUPTED)
        hooks = self.spec.hooks
        lifecycle = run.key.partition("[")[0]
        index = int(run.key.partition("[")[2].rstrip("]") or 0)
        configured = getattr(hooks, lifecycle, [])
        timeout = configured[index].timeout if index < len(configured) else 300.0
        self._tasks[(rollout_id, run.key)] = asyncio.create_task(
            self._finish(rollout_id, run.key, run.pid, run.started, timeout)
        )
        return HookState(HookOutcome.STARTED)

    async def stop(self, status: Status, key: str, reason: str) -> None:
        """Stop a running hook's process group and journal it `cancelled` (its result is no longer waited for)."""
        task = self._tasks.pop((status.rollout_id, key), None)
        if task is not None and not task.done():
            task.cancel()
        run = next((r for r in self.store.hook_runs(status.rollout_id) if r.key == key), None)
        if run is None or run.outcome is not HookOutcome.STARTED:
            return
        done = (
            "it had not started"
            if run.pid is None
            else await stop_group(run.pid, str(self._files(status.rollout_id, key).rc))
        )
        detail = f"stopped: {done}, because {reason}"
        self.store.hook_finished(
            status.rollout_id, key, HookOutcome.CANCELLED, detail, read_output(self._files(status.rollout_id, key))
        )

    async def aclose(self) -> None:
        for task in self._tasks.values():
            if not task.done():
                task.cancel()
