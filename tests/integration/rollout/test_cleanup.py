"""Nothing is left running behind a rollout: `Up` in this event loop with real demo-app processes and real hooks.

- a new rollout started while the previous one is still in its scale-down delay takes over stopping the old
  version (it used to run forever: the previous rollout's scale-down never happened);
- `rollout abort` while a forward hook runs stops the hook's process group (the hook and what it started) and
  journals the hook as cancelled.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from greenflag.config import load_spec
from greenflag.platform.process import pid_alive
from greenflag.rollout.model import HookOutcome, Phase, Status
from greenflag.rollout.up import Up
from tests.support import local_release, save_spec, wait_until_async

pytestmark = pytest.mark.timeout(120)


def write_spec(tmp_path: Path, strategy: dict[str, Any], hooks: dict[str, Any] | None = None) -> Path:
    spec = local_release(tmp_path, "tidy", platform={"stop_grace": "2s"}, strategy=strategy, hooks=hooks or {},
                         state_dir=str(tmp_path / "state"))  # fmt: skip
    return save_spec(tmp_path, spec)


async def running_versions(up: Up) -> set[str]:
    assert up.controller is not None
    return {i.version for i in await up.controller.platform.instances()}


async def wait_status(up: Up, rollout_id: int, check: Any, what: str, timeout: float = 60) -> Status:
    assert up.controller is not None
    store = up.controller.store

    async def ok() -> bool:
        status = store.load(rollout_id)
        return status is not None and bool(check(status))

    await wait_until_async(ok, timeout=timeout, interval=0.05, what=what)
    status = store.load(rollout_id)
    assert status is not None
    return status


async def test_a_new_rollout_during_the_scale_down_delay_stops_the_old_version(tmp_path: Path) -> None:
    delay = 2.0
    strategy = {"blue_green": {"scale_down_delay": f"{delay}s"}}
    up = Up(load_spec(write_spec(tmp_path, strategy)), tick_s=0.1)
    async with up.running():
        assert up.controller is not None
        assert (await up.rollout("v1", timeout=60)).phase is Phase.HEALTHY
        second = up.controller.start("v2")
        promoted = await wait_status(up, second.rollout_id, lambda s: s.phase is Phase.HEALTHY, "v2 promoted")
        assert promoted.stage == "scale_down" and await running_versions(up) == {"v1", "v2"}
        third = up.controller.start("v3")  # v2's rollout is still waiting to stop v1
        assert third.retiring and set(third.retiring) == {"v1"}
        handed = up.controller.store.load(second.rollout_id)
        assert handed is not None and handed.done and handed.events[-1].kind == "handed_over"
        final = await wait_status(up, third.rollout_id, lambda s: s.done, "v3 done")
        assert (final.phase, final.stable) == (Phase.HEALTHY, "v3")

        async def only_v3() -> bool:
            return await running_versions(up) == {"v3"}

        await wait_until_async(only_v3, timeout=20, interval=0.1, what="v1 and v2 stopped, only v3 runs")
        stopped = [e.message for e in final.events if e.kind == "scaled_down"]
        assert any("stopped v1" in m for m in stopped) and any("stopped v2" in m for m in stopped), stopped


async def test_abort_while_a_hook_runs_stops_its_process_group_and_journals_it(tmp_path: Path) -> None:
    hook = 'if [ "$GREENFLAG_VERSION" = v2 ]; then sleep 120 & echo $! > sleeper.pid; echo started; wait; fi'
    strategy = {"canary": {"steps": [{"set_weight": 100}], "abort_scale_down_delay": "200ms"}}
    path = write_spec(tmp_path, strategy, hooks={"before_allow_traffic": [hook]})
    up = Up(load_spec(path), tick_s=0.1)
    async with up.running():
        assert up.controller is not None
        assert (await up.rollout("v1", timeout=60)).phase is Phase.HEALTHY
        started = up.controller.start("v2")
        sleeper = tmp_path / "sleeper.pid"
        await wait_until_async(lambda: _exists(sleeper), timeout=60, interval=0.05, what="the v2 hook running")
        pid = int(sleeper.read_text())
        assert pid_alive(pid)
        up.controller.store.post_command(started.rollout_id, "abort")
        final = await wait_status(up, started.rollout_id, lambda s: s.done, "v2 rolled back", timeout=30)
        assert (final.phase, final.stable) == (Phase.ROLLED_BACK, "v1")

        await wait_until_async(lambda: _dead(pid), timeout=10, interval=0.05, what="the hook's child stopped")
        (run,) = [r for r in up.controller.store.hook_runs(started.rollout_id) if r.key == "before_allow_traffic[0]"]
        assert run.outcome is HookOutcome.CANCELLED and "process group" in run.detail, run
        assert "started" in run.output
        event = next(e for e in final.events if e.kind == "hook" and "cancelled" in e.message)
        assert "before_allow_traffic[0] cancelled: stopped: process group" in event.message
        assert await running_versions(up) == {"v1"}


async def _exists(path: Path) -> bool:
    return path.exists() and path.read_text().strip().isdigit()


async def _dead(pid: int) -> bool:
    await asyncio.sleep(0)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return not pid_alive(pid)
