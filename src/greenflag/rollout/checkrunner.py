"""Runs a rollout's readiness checklist (`readiness: {required_before: promote}`) for the controller, once per
rollout, journaled in the rollout journal's hooks table under the key `readiness`:

- `started` before the checks run; `ok` or `failed` when they end, with a one-line detail and, as its output, the
  JSON of every check (the rollout's view, `checks`, and each check's full result, `results`, as `greenflag check
  all --json` prints it);
- a finished checklist is never run again for the same rollout (a restarted controller reads its result);
- one journaled `started` that this process is not running (the controller that started it stopped) is run again
  when the rollout asks for it: the checks only read, so running them twice is harmless, and a result is needed;
- rolling back while it runs cancels it (the commands it started are killed with their process group) and
  journals it `cancelled`.

The checks are greenflag.readiness's (`run_checklist`); tests and embedders may inject another callable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

from greenflag.errors import ConfigError
from greenflag.readiness.base import CheckResult
from greenflag.readiness.checklist import GRACE_S, checklist_ok, plan_checklist, run_checklist
from greenflag.rollout.checklist import KEY, summarize
from greenflag.rollout.model import ChecklistRun, CheckOutcome, HookOutcome, HookState, Status
from greenflag.rollout.store import HookRun, Store
from greenflag.spec import Spec

__all__ = ["ChecklistFn", "ChecklistRunner"]

ChecklistFn = Callable[[Spec], Awaitable[list[CheckResult]]]
SLACK_S = 10.0  # beyond the slowest check's own timeout, before the whole checklist counts as stuck


async def _default(spec: Spec) -> list[CheckResult]:
    return await run_checklist(spec)


class ChecklistRunner:
    """Carries out RunChecklist / StopChecklist actions; `observe` reports the journaled checklist of a rollout."""

    def __init__(self, spec: Spec, store: Store, checklist: ChecklistFn | None = None) -> None:
        self.spec = spec
        self.store = store
        self.checklist = checklist or _default
        self.limit_s = 0.0
        if spec.readiness.required_before is not None:
            planned = plan_checklist(spec)  # bad resolve entries, CA file, WAF names: exit 2 before any rollout
            if not planned:
                source = spec.source or "greenflag.yaml"
                raise ConfigError(f"{source}: readiness.required_before: {spec.readiness.required_before}, but "
                                  "readiness lists no check to run (tls, dns, waf, headers, monitoring, backups, "
                                  "health or checks)")  # fmt: skip
            self.limit_s = max(p.timeout_s for p in planned) + GRACE_S + SLACK_S
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()

    def _run_of(self, rollout_id: int) -> HookRun | None:
        return next((r for r in self.store.hook_runs(rollout_id) if r.key == KEY), None)

    def start(self, status: Status) -> None:
        """Run the checklist unless it runs here already or has finished; journaled `started` first."""
        rollout_id = status.rollout_id
        if rollout_id in self._tasks:
            return
        journaled = self._run_of(rollout_id)
        if journaled is None:
            if not self.store.hook_started(rollout_id, KEY, "readiness checklist"):
                return  # another process journaled it meanwhile
        elif journaled.outcome is not HookOutcome.STARTED:
            return  # finished: never again
        else:
            self._again.add(rollout_id)  # journaled started, not running here: the controller stopped meanwhile
        self._tasks[rollout_id] = asyncio.create_task(self._run(rollout_id))

    async def _run(self, rollout_id: int) -> None:
        try:
            results = await asyncio.wait_for(self.checklist(self.spec), self.limit_s or None)
        except TimeoutError:
            detail = f"the checklist did not finish within {self.limit_s:g}s"
            self.store.hook_finished(rollout_id, KEY, HookOutcome.FAILED, detail)
            return
        except Exception as exc:  # a checklist that cannot run is a failed gate, one line, never a crash
            detail = f"the checklist could not run: {type(exc).__name__}: {exc}"
            self.store.hook_finished(rollout_id, KEY, HookOutcome.FAILED, detail)
            return
        run = summarize(results, checklist_ok(results))
        output = {"checks": [c.to_json() for c in run.checks], "results": [r.to_json() for r in results]}
        self.store.hook_finished(rollout_id, KEY, run.state.outcome, run.state.detail, json.dumps(output))

    def observe(self, status: Status) -> ChecklistRun | None:
        """The checklist of this rollout as journaled (None: never started)."""
        journaled = self._run_of(status.rollout_id)
        if journaled is None:
            return None
        state = HookState(journaled.outcome, journaled.detail)
        if journaled.outcome is HookOutcome.STARTED:
            return ChecklistRun(state, again=status.rollout_id in self._again)
        checks: tuple[CheckOutcome, ...] = ()
        with contextlib.suppress(ValueError, KeyError, TypeError):
            checks = tuple(CheckOutcome.from_json(c) for c in json.loads(journaled.output or "{}").get("checks", []))
        return ChecklistRun(state, checks)

    async def stop(self, status: Status, reason: str) -> None:
        """Cancel the checklist (its commands are killed with their process groups) and journal it cancelled."""
        task = self._tasks.pop(status.rollout_id, None)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        journaled = self._run_of(status.rollout_id)
        if journaled is not None and journaled.outcome is HookOutcome.STARTED:
            self.store.hook_finished(status.rollout_id, KEY, HookOutcome.CANCELLED, f"stopped, because {reason}")

    async def aclose(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
