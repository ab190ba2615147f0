"""The `command` platform: your own commands start, stop and list instances on any orchestrator (ECS, Nomad, VMs).

- `launch` runs once per missing instance, detached (`platform/jobs.py`), with `{version}`, `{service}` and
  `{instance}` (greenflag's id, `v2-0`); when it exits 0, the last line of its output is the instance's address
  (`platform/command_output.py`). A launch that fails, times out or prints no address is reported by `exits()`.
- `stop` runs once per instance of the version, with `{instance}` (the id the launch reported), `{address}` and
  `{version}`, and `GREENFLAG_STOP_GRACE`; it must exit 0 (else PlatformError, and the instance stays known).
- `status` (optional) is asked every `status_interval` which instances exist: one missing from two answers in a row
  is reported gone (an exit), one listed that greenflag did not know is adopted.

Launches in progress and the instances they reported are journaled (`RecordJournal`), so a restarted controller
waits for a launch still running, and stops what a previous controller launched.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from greenflag.platform.base import Instance, InstanceExit, PlatformError, RecordJournal
from greenflag.platform.command_output import Listed, parse_launch, parse_status
from greenflag.platform.jobs import CommandResult, JobFiles, check_executable, poll_job, run, spawn_job, stop_job
from greenflag.platform.template import command_argv, command_env
from greenflag.spec import CommandPlatformSpec, check_version

__all__ = ["CommandPlatform"]

log = logging.getLogger(__name__)
_LAUNCH, _INSTANCE = "launch:", "instance:"


class CommandPlatform:
    """Platform (with ExitReporter) over `spec.launch`, `spec.stop` and `spec.status`."""

    def __init__(self, service: str, spec: CommandPlatformSpec, journal: RecordJournal, *, log_dir: Path) -> None:
        self.service = service
        self.spec = spec
        self.journal = journal
        self.log_dir = log_dir
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._exits: list[InstanceExit] = []
        self._status_at: float | None = None  # monotonic time of the last status answer
        self._missing: set[str] = set()  # ids the last status answer did not list

    # -- the journal ------------------------------------------------------------------------------------------
    def _records(self, prefix: str) -> dict[str, dict[str, Any]]:
        records = self.journal.platform_records(self.service)
        return {key[len(prefix) :]: value for key, value in records.items() if key.startswith(prefix)}

    def _put(self, prefix: str, key: str, value: dict[str, Any]) -> None:
        self.journal.put_platform_record(self.service, prefix + key, value)

    def _drop(self, prefix: str, key: str) -> None:
        self.journal.drop_platform_record(self.service, prefix + key)

    def _env(self, values: dict[str, str], **extra: str) -> dict[str, str]:
        return {**os.environ, **self.spec.env, **command_env(values), **extra}

    @staticmethod
    def _instance(record: dict[str, Any]) -> Instance:
        return Instance(version=str(record["version"]), id=str(record["id"]), url=str(record["url"]))

    # -- launch -----------------------------------------------------------------------------------------------
    async def launch(self, version: str) -> list[Instance]:
        """Start the instances `version` lacks (each launch once); returns those that reported their address."""
        check_version(version)
        await self._advance()
        running = [r for r in self._records(_INSTANCE).values() if r["version"] == version]
        pending = [r for r in self._records(_LAUNCH).values() if r["version"] == version]
        used = {r.get("index") for r in running + pending}
        free = [i for i in range(self.spec.instances) if i not in used]
        for index in free[: max(0, self.spec.instances - len(running) - len(pending))]:
            self._start(version, index)
        return [self._instance(r) for r in running]

    def _start(self, version: str, index: int) -> None:
        name = f"{version}-{index}"
        values = {"version": version, "service": self.service, "instance": name}
        argv, env = command_argv(self.spec.launch, values), self._env(values)
        check_executable(argv, "platform.launch", cwd=self.spec.cwd, env=env)
        record: dict[str, Any] = {"version": version, "index": index, "pid": None, "started": time.time()}
        self._put(_LAUNCH, name, record)  # journaled before it runs: never launched twice
        child = spawn_job(argv, self._files(name), env=env, cwd=self.spec.cwd)
        self._children[name] = child
        self._put(_LAUNCH, name, {**record, "pid": child.pid})
        log.info("launching %s (pid %d)", name, child.pid)

    def _files(self, name: str) -> JobFiles:
        return JobFiles.under(self.log_dir, f"{self.service}-launch-{name}")

    async def _advance(self) -> None:
        """Look at every launch in progress: a finished one becomes an instance, or an exit with its cause."""
        for name, record in self._records(_LAUNCH).items():
            result: CommandResult | None
            if record.get("pid") is None:
                result = CommandResult(None, "", "", 0.0, "interrupted: the controller stopped as it started it")
            else:
                result = poll_job(int(record["pid"]), self._files(name), started=float(record["started"]),
                                  timeout_s=self.spec.launch_timeout, child=self._children.get(name))  # fmt: skip
            if result is None:
                continue
            self._children.pop(name, None)
            self._drop(_LAUNCH, name)
            if result.ok:
                try:
                    launched = parse_launch(result.stdout)
                except ValueError as exc:
                    self._fail(record, name, result, f"exited 0 but {exc}")
                    continue
                ident = launched.id or name
                self._put(_INSTANCE, ident, {"version": record["version"], "id": ident, "url": launched.url,
                                             "index": record["index"], "started": time.time()})  # fmt: skip
                log.info("%s is up at %s (id %s)", name, launched.url, ident)
            else:
                self._fail(record, name, result, None if result.returncode is not None else result.detail)

    def _fail(self, record: dict[str, Any], name: str, result: CommandResult, how: str | None) -> None:
        exit_ = InstanceExit(str(record["version"]), f"launch of {name}", result.returncode, result.output(), how)
        log.warning("%s", exit_.describe())
        self._exits.append(exit_)

    def exits(self) -> list[InstanceExit]:
        """Launches that failed, and instances `status` no longer lists, since the last call (each once)."""
        exits, self._exits = self._exits, []
        return exits

    # -- status -----------------------------------------------------------------------------------------------
    async def instances(self) -> list[Instance]:
        """The instances launched (and, with `status`, still listed by it)."""
        await self._advance()
        if self.spec.status is not None and (
            self._status_at is None or time.monotonic() - self._status_at >= self.spec.status_interval
        ):
            listed = await self._status()
            if listed is not None:
                self._reconcile(listed)
        return [self._instance(r) for _, r in sorted(self._records(_INSTANCE).items())]

    async def _status(self) -> list[Listed] | None:
        assert self.spec.status is not None
        values = {"service": self.service}
        argv = command_argv(self.spec.status, values)
        result = await run(argv, env=self._env(values), cwd=self.spec.cwd, timeout_s=self.spec.status_timeout)
        self._status_at = time.monotonic()
        if not result.ok:
            log.warning("%s", result.describe("platform.status"))
            return None
        try:
            return parse_status(result.stdout)
        except ValueError as exc:
            log.warning("platform.status: %s", exc)
            return None

    def _reconcile(self, listed: list[Listed]) -> None:
        known = self._records(_INSTANCE)
        ids = {item.id for item in listed}
        missing = {ident for ident in known if ident not in ids}
        for ident in missing & self._missing:  # missing from two answers in a row: gone
            record = known[ident]
            how = "is no longer listed by platform.status"
            self._exits.append(InstanceExit(str(record["version"]), ident, None, "", how))
            self._drop(_INSTANCE, ident)
            log.warning("%s %s", ident, how)
        self._missing = missing - self._missing
        launching = {str(r["version"]) for r in self._records(_LAUNCH).values()}
        for item in listed:
            if item.id not in known and item.version not in launching:  # (a launch still running reports its own)
                self._put(_INSTANCE, item.id, {"version": item.version, "id": item.id, "url": item.url,
                                               "index": None, "started": time.time()})  # fmt: skip
                log.info("adopted %s (%s at %s), listed by platform.status", item.id, item.version, item.url)

    # -- stop -------------------------------------------------------------------------------------------------
    async def stop(self, version: str, *, grace_s: float) -> None:
        """Stop `version`: launches still running are killed, every instance is stopped by `stop`. Idempotent."""
        for name, record in self._records(_LAUNCH).items():
            if record["version"] == version and record.get("pid") is not None:
                await stop_job(int(record["pid"]), self._files(name), grace_s=grace_s, child=self._children.get(name))
            if record["version"] == version:
                self._children.pop(name, None)
                self._drop(_LAUNCH, name)
        records = [r for r in self._records(_INSTANCE).values() if r["version"] == version]
        failures = await asyncio.gather(*(self._stop_one(r, grace_s) for r in records))
        problems = [f for f in failures if f is not None]
        if problems:
            raise PlatformError("; ".join(problems))

    async def _stop_one(self, record: dict[str, Any], grace_s: float) -> str | None:
        values = {"version": str(record["version"]), "service": self.service, "instance": str(record["id"]),
                  "address": str(record["url"])}  # fmt: skip
        argv = command_argv(self.spec.stop, values)
        env = self._env(values, GREENFLAG_STOP_GRACE=f"{grace_s:g}")
        result = await run(argv, env=env, cwd=self.spec.cwd, timeout_s=self.spec.stop_timeout)
        if not result.ok:
            return result.describe(f"platform.stop of {record['id']}")
        self._drop(_INSTANCE, str(record["id"]))
        return None
