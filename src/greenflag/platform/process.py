"""The `process` platform: each version's instances run as local processes on free loopback ports.

The command template gets `{port}`, `{version}`, `{service}` and `{instance}`, substituted into the already-split
argument list (and, in a `sh -c` script, only through the environment: `platform/template.py`). Versions must be
version names (`greenflag.spec.check_version`), so no value adds an argument. Instances are journaled (pid, port)
so a restarted controller re-adopts live processes instead of starting duplicates; they run in their own session,
so they outlive a controller killed with SIGKILL. Stopping is SIGTERM to the process group, SIGKILL after the grace.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Protocol

from greenflag.errors import ConfigError
from greenflag.platform.base import Instance, InstanceExit, InstanceRecord
from greenflag.platform.template import command_argv, command_env
from greenflag.spec import PlatformSpec, check_version

__all__ = ["InstanceJournal", "ProcessPlatform", "pid_alive"]


class InstanceJournal(Protocol):
    def put_instance(self, record: InstanceRecord) -> None: ...
    def drop_instance(self, instance_id: str) -> None: ...
    def instance_records(self, service: str) -> list[InstanceRecord]: ...


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int, marker: str | None = None, env: str | None = None) -> bool:
    """True if `pid` runs (not a zombie) and, when given, its command line contains `marker` or its environment has
    the entry `env` (`NAME=VALUE`): a guard against a reused pid. The environment holds through an `exec`, so a
    `sh -c '… exec app --port ${GREENFLAG_PORT}'` instance is recognised before and after its shell execs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return True  # not Linux: trust kill(0)
    with contextlib.suppress(OSError):
        stat = (proc / "stat").read_text()
        if stat[stat.rfind(")") + 2 :].startswith("Z"):
            return False
        if marker is not None or env is not None:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if marker is not None and marker in cmdline:
                return True
            if env is not None:
                with contextlib.suppress(PermissionError):
                    return env.encode() in (proc / "environ").read_bytes().split(b"\0")
                return True  # another user's process: cannot tell, trust kill(0)
            return False
    return True


class ProcessPlatform:
    """Platform (see platform/base.py) running `spec.command` once per instance."""

    def __init__(self, service: str, spec: PlatformSpec, journal: InstanceJournal, *, log_dir: Path) -> None:
        if "{port}" not in spec.command:
            raise ConfigError("platform.command: must contain {port} (the port each instance listens on)")
        self.service = service
        self.spec = spec
        self.journal = journal
        self.log_dir = log_dir
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._log_offsets: dict[str, int] = {}  # where each instance's output starts in its (appended) log
        self._exits: list[InstanceExit] = []

    def _alive(self, record: InstanceRecord) -> bool:
        child = self._children.get(record.id)
        if child is not None and child.pid == record.pid:
            return child.poll() is None
        return pid_alive(record.pid, str(record.port), env=f"GREENFLAG_PORT={record.port}")

    @staticmethod
    def _instance(record: InstanceRecord) -> Instance:
        return Instance(version=record.version, id=record.id, url=record.url, pid=record.pid)

    def _records(self, version: str | None = None) -> list[InstanceRecord]:
        records = self.journal.instance_records(self.service)
        return [r for r in records if version is None or r.version == version]

    def _spawn(self, version: str, index: int) -> InstanceRecord:
        port = _free_port()
        instance_id = f"{version}-{index}"
        values = {"port": str(port), "version": version, "service": self.service, "instance": instance_id}
        try:
            argv = command_argv(self.spec.command, values)
        except ValueError as exc:
            raise ConfigError(f"platform.command: {exc}") from None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.spec.env, **command_env(values)}
        with open(self._log_path(instance_id), "ab") as log:
            self._log_offsets[instance_id] = log.tell()
            try:
                child = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=self.spec.cwd,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ConfigError(f"platform.command: cannot start {argv[0]!r}: {exc.strerror}") from None
        self._children[instance_id] = child
        record = InstanceRecord(
            instance_id, self.service, version, f"http://127.0.0.1:{port}", child.pid, port, time.time()
        )
        self.journal.put_instance(record)
        return record

    async def launch(self, version: str) -> list[Instance]:
        """Start the version's instances; live ones (also from a previous controller) are kept. ValueError for a
        version that is not a version name."""
        check_version(version)
        live = {r.id: r for r in self._records(version) if self._alive(r)}
        out = []
        for index in range(self.spec.instances):
            record = live.get(f"{version}-{index}") or self._spawn(version, index)
            out.append(self._instance(record))
        return out

    async def instances(self) -> list[Instance]:
        """The live instances of every version. Dead ones are forgotten, and reported once by `exits()`."""
        out = []
        for record in self._records():
            if self._alive(record):
                out.append(self._instance(record))
            else:
                code = self._reap(record.id)
                self.journal.drop_instance(record.id)
                self._exits.append(InstanceExit(record.version, record.id, code, self._output_tail(record.id)))
        return out

    def exits(self) -> list[InstanceExit]:
        """Instances found gone (not stopped) since the last call: exit code and last lines of output."""
        exits, self._exits = self._exits, []
        return exits

    def _log_path(self, instance_id: str) -> Path:
        return self.log_dir / f"{self.service}-{instance_id}.log"

    def _output_tail(self, instance_id: str, lines: int = 3, limit: int = 600) -> str:
        """The last lines this instance wrote (its own run's, when this platform started it)."""
        try:
            with open(self._log_path(instance_id), "rb") as fh:
                start = self._log_offsets.get(instance_id, 0)
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(start, size - 8192))
                text = fh.read().decode(errors="replace")
        except OSError:
            return ""
        kept = [line[:200] for line in text.splitlines() if line.strip()][-lines:]
        return "\n".join(kept)[-limit:]

    def _reap(self, instance_id: str) -> int | None:
        """Forget the child process of `instance_id`; its exit status when it was our child and has ended."""
        child = self._children.pop(instance_id, None)
        return child.poll() if child is not None else None

    async def stop(self, version: str, *, grace_s: float) -> None:
        """SIGTERM every instance of `version` (its process group), SIGKILL after `grace_s`. Idempotent."""
        records = self._records(version)
        await asyncio.gather(*(self._stop_one(r, grace_s) for r in records))

    async def stop_all(self, *, grace_s: float | None = None) -> None:
        grace = self.spec.stop_grace if grace_s is None else grace_s
        await asyncio.gather(*(self._stop_one(r, grace) for r in self._records()))

    async def _stop_one(self, record: InstanceRecord, grace_s: float) -> None:
        if self._alive(record):
            self._signal(record.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while self._alive(record) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if self._alive(record):
                self._signal(record.pid, signal.SIGKILL)
                deadline = time.monotonic() + 5.0
                while self._alive(record) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
        self._reap(record.id)
        self.journal.drop_instance(record.id)

    @staticmethod
    def _signal(pid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
