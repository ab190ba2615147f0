"""The `slots` platform: long-lived environments (blue, green, …) at fixed addresses, each re-deployed in place.

`launch(v)` deploys `v` onto an idle slot (`platform/slotplan.py`: never one that holds a version of the release)
by running the spec's `deploy` command detached (`platform/jobs.py`), and returns nothing until the deploy has
exited 0: then the slot is `ready` and its address is the version's instance, for the readiness gate and the
router. While every slot holds another version, `launch` waits (a version scaling down after the last release
frees its slot soon; the controller's `start_timeout` bounds the wait). A deploy that fails or times out is
reported by `exits()` with its exit status and last output, and its slot is idle again. `stop(v)` marks the slot
idle, after running the optional `stop` command. Which slot holds which version, and the deploy in progress, are
journaled (`RecordJournal`), so a restarted controller finds the versions where they are and waits for a deploy
still running instead of starting it again.

Behind a load balancer that registers targets (router.kind alb), a `SlotTargets` registers a slot's targets once
its deploy succeeded and deregisters them before it is deployed again or stopped (CodeDeploy's BlockTraffic and
AllowTraffic for an in-place deployment).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Protocol

from greenflag.platform.base import Instance, InstanceExit, PlatformError, RecordJournal
from greenflag.platform.jobs import CommandResult, JobFiles, check_executable, poll_job, run, spawn_job, stop_job
from greenflag.platform.slotplan import DEPLOYING, IDLE, READY, NoIdleSlot, SlotState, choose_slot, holding
from greenflag.platform.template import command_argv, command_env
from greenflag.spec import SlotsPlatformSpec, check_version

__all__ = ["SlotTargets", "SlotsPlatform", "slot_targets"]

log = logging.getLogger(__name__)
_PREFIX = "slot:"


class SlotTargets(Protocol):
    """Registers a slot's targets with the load balancer in front of the slots (an ALB target group per slot)."""

    async def register(self, slot: str, targets: list[str]) -> None: ...
    async def deregister(self, slot: str, targets: list[str]) -> None: ...


def slot_targets(spec: SlotsPlatformSpec, slot: str) -> list[str]:
    """The slot's targets (ID:PORT): as configured, else its address's HOST:PORT."""
    configured = spec.slots[slot].targets
    if configured:
        return list(configured)
    match = re.fullmatch(r"https?://\[?([^\]/]+?)\]?:([0-9]+)(/.*)?", spec.slots[slot].address)
    return [f"{match.group(1)}:{match.group(2)}"] if match else []


class SlotsPlatform:
    """Platform (with ExitReporter) over `spec.slots`."""

    def __init__(
        self,
        service: str,
        spec: SlotsPlatformSpec,
        journal: RecordJournal,
        *,
        log_dir: Path,
        targets: SlotTargets | None = None,
    ) -> None:
        self.service = service
        self.spec = spec
        self.journal = journal
        self.log_dir = log_dir
        self.targets = targets
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._exits: list[InstanceExit] = []
        self.waiting: dict[str, str] = {}  # version → why it waits for a slot (logged when it changes)

    # -- the journal ------------------------------------------------------------------------------------------
    def states(self) -> dict[str, SlotState]:
        """Slot name → its journaled state (idle when never used), in the spec's order."""
        records = self.journal.platform_records(self.service)
        out = {}
        for name in self.spec.slots:
            record = records.get(_PREFIX + name)
            out[name] = SlotState.from_json(record) if record is not None else SlotState(name)
        return out

    def _put(self, state: SlotState) -> None:
        self.journal.put_platform_record(self.service, _PREFIX + state.slot, state.to_json())

    def _idle(self, state: SlotState) -> None:
        self._children.pop(state.slot, None)
        self._put(SlotState(state.slot, IDLE, state.version, changed=time.time()))

    # -- commands ---------------------------------------------------------------------------------------------
    def _files(self, slot: str) -> JobFiles:
        return JobFiles.under(self.log_dir, f"{self.service}-slot-{slot}-deploy")

    def _command(self, template: list[str], slot: str, version: str, **extra: str) -> tuple[list[str], dict[str, str]]:
        values = {"version": version, "slot": slot, "address": self.spec.slots[slot].address, "service": self.service}
        argv = command_argv(template, values)
        env = {**os.environ, **self.spec.env, **command_env(values), **extra}
        return argv, env

    def _instance(self, state: SlotState) -> Instance:
        assert state.version is not None
        address = self.spec.slots[state.slot].address
        return Instance(version=state.version, id=f"{state.version}@{state.slot}", url=address)

    # -- the Platform ------------------------------------------------------------------------------------------
    async def launch(self, version: str) -> list[Instance]:
        """Deploy `version` onto an idle slot, or look at the deploy already started: its instance once the deploy
        succeeded, else nothing yet (also while every slot holds another version). ValueError for a version name
        that is not one."""
        check_version(version)
        states = await self._advance()
        held = holding(version, states)
        if held is not None:
            return [self._instance(held)] if held.state == READY else []
        try:
            slot = choose_slot(version, list(self.spec.slots), states)
        except NoIdleSlot as exc:
            if self.waiting.get(version) != str(exc):
                log.warning("%s: waiting until a version stops", exc)
            self.waiting[version] = str(exc)
            return []
        self.waiting.pop(version, None)
        await self._deploy(states[slot], version)
        return []

    async def _deploy(self, state: SlotState, version: str) -> None:
        slot = state.slot
        argv, env = self._command(
            self.spec.deploy, slot, version, GREENFLAG_PREVIOUS_VERSION=state.version or ""
        )
        check_executable(argv, "platform.deploy", cwd=self.spec.cwd, env=env)
        if self.targets is not None:  # an idle slot takes no traffic while it is deployed
            await self.targets.deregister(slot, slot_targets(self.spec, slot))
        now = time.time()
        self._put(SlotState(slot, DEPLOYING, version, None, now, now))  # journaled before it runs
        child = spawn_job(argv, self._files(slot), env=env, cwd=self.spec.cwd, merge=True)
        self._children[slot] = child
        self._put(SlotState(slot, DEPLOYING, version, child.pid, now, now))
        log.info("deploying %s onto slot %s (pid %d)", version, slot, child.pid)

    async def _advance(self) -> dict[str, SlotState]:
        """Look at every deploy in progress: a finished one makes its slot ready (or idle, reporting the failure)."""
        states = self.states()
        for slot, state in states.items():
            if state.state != DEPLOYING or state.version is None:
                continue
            result: CommandResult | None
            if state.pid is None:
                result = CommandResult(None, "", "", 0.0, "interrupted: the controller stopped as it started it")
            else:
                result = poll_job(state.pid, self._files(slot), started=state.started or 0.0,
                                  timeout_s=self.spec.deploy_timeout, child=self._children.get(slot))  # fmt: skip
            if result is None:
                continue
            if result.ok:
                states[slot] = await self._ready(state)
            else:
                self._fail(state, result)
                states[slot] = self.states()[slot]
        return states

    async def _ready(self, state: SlotState) -> SlotState:
        if self.targets is not None:
            try:
                await self.targets.register(state.slot, slot_targets(self.spec, state.slot))
            except Exception as exc:  # the load balancer refused: a failed start, with its cause
                failed = CommandResult(0, "", str(exc), 0.0, "exit 0")
                self._fail(state, failed, "succeeded, but registering the slot's targets failed")
                return self.states()[state.slot]
        ready = SlotState(state.slot, READY, state.version, None, state.started, time.time())
        self._put(ready)
        self._children.pop(state.slot, None)
        log.info("slot %s is ready with %s", state.slot, state.version)
        return ready

    def _fail(self, state: SlotState, result: CommandResult, how: str | None = None) -> None:
        assert state.version is not None
        what = f"deploy of {state.version} onto slot {state.slot}"
        how = how or (None if result.returncode is not None else result.detail)
        exit_ = InstanceExit(state.version, what, result.returncode, result.output(), how)
        log.warning("%s", exit_.describe())
        self._exits.append(exit_)
        self._idle(state)

    async def instances(self) -> list[Instance]:
        """The versions whose deploy succeeded, one instance each (the slot's address)."""
        states = await self._advance()
        return [self._instance(s) for s in states.values() if s.state == READY]

    def exits(self) -> list[InstanceExit]:
        """Deploys that failed since the last call (each once): exit status and last output."""
        exits, self._exits = self._exits, []
        return exits

    async def stop(self, version: str, *, grace_s: float) -> None:
        """Mark the slot holding `version` idle: a deploy still running is stopped (SIGTERM, SIGKILL after
        `grace_s`), the slot's targets deregistered, then the `stop` command runs. Idempotent."""
        state = holding(version, self.states())
        if state is None:
            return
        if state.state == DEPLOYING and state.pid is not None:
            await stop_job(state.pid, self._files(state.slot), grace_s=grace_s, child=self._children.get(state.slot))
        if self.targets is not None:
            await self.targets.deregister(state.slot, slot_targets(self.spec, state.slot))
        if self.spec.stop is not None:
            argv, env = self._command(self.spec.stop, state.slot, version, GREENFLAG_STOP_GRACE=f"{grace_s:g}")
            result = await run(argv, env=env, cwd=self.spec.cwd, timeout_s=self.spec.stop_timeout)
            if not result.ok:
                raise PlatformError(result.describe(f"platform.stop of {version} on slot {state.slot}"))
        self._idle(state)
        log.info("slot %s is idle (%s stopped)", state.slot, version)
