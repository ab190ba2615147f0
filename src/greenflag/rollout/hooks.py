"""Lifecycle hooks: shell commands with a timeout, output kept (CodeDeploy's lifecycle names + on_rollback).

A hook runs detached from the controller — its own session, output to a file, its exit status written to a
`.rc` file by a wrapper shell — so a controller killed with SIGKILL neither kills the hook nor loses its
result: the next controller waits for the journaled pid and reads the `.rc` file. Nothing is run twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from greenflag.platform.process import pid_alive

__all__ = ["HookFiles", "HookResult", "read_output", "run_command", "spawn_hook", "stop_group", "wait_hook"]

MAX_OUTPUT = 64 * 1024


@dataclass(frozen=True)
class HookResult:
    ok: bool
    returncode: int | None  # None: timed out, or its result was lost
    output: str  # stdout and stderr, interleaved, last 64 KiB
    duration_s: float
    timed_out: bool = False

    @property
    def detail(self) -> str:
        if self.timed_out:
            return f"timed out after {self.duration_s:.1f}s"
        if self.returncode is None:
            return "its exit status was lost"
        return f"exit {self.returncode}"


@dataclass(frozen=True)
class HookFiles:
    log: Path
    rc: Path

    @classmethod
    def under(cls, directory: Path, name: str) -> HookFiles:
        return cls(directory / f"{name}.log", directory / f"{name}.rc")


def spawn_hook(command: str, files: HookFiles, *, env: dict[str, str] | None = None, cwd: str | None = None) -> int:
    """Start `command` in a shell of its own session; returns the pid. The exit status lands in `files.rc`."""
    files.log.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        files.rc.unlink()
    script = f'( {command}\n)\necho $? > "{files.rc}.tmp" && mv "{files.rc}.tmp" "{files.rc}"'
    with open(files.log, "wb") as log:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    return proc.pid


def read_output(files: HookFiles) -> str:
    """The last 64 KiB of a hook's output."""
    try:
        with open(files.log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - MAX_OUTPUT))
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


def _running(pid: int, marker: str, child: bool) -> bool:
    if child:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return False  # already reaped
        return done == 0
    return pid_alive(pid, marker)


def _read_rc(files: HookFiles) -> int | None:
    try:
        return int(files.rc.read_text().strip())
    except (OSError, ValueError):
        return None


async def wait_hook(
    pid: int, files: HookFiles, *, started_at: float, timeout_s: float, child: bool = False
) -> HookResult:
    """Wait for a hook (our `child`, or one a previous controller started) to end; kill its group on timeout."""
    marker = str(files.rc)
    while _read_rc(files) is None and _running(pid, marker, child):
        if time.time() - started_at > timeout_s:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            return HookResult(False, None, read_output(files), time.time() - started_at, timed_out=True)
        await asyncio.sleep(0.05)
    returncode = _read_rc(files)
    for _ in range(20):  # gone without a status yet: give the file system a moment
        if returncode is not None:
            break
        await asyncio.sleep(0.05)
        returncode = _read_rc(files)
    if child:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    return HookResult(returncode == 0, returncode, read_output(files), time.time() - started_at)


async def stop_group(pid: int, marker: str, *, grace_s: float = 2.0) -> str:
    """Stop a hook's process group (the hook and everything it started): SIGTERM, SIGKILL after `grace_s`.
    Returns what was done, for the journal."""

    def group_alive() -> bool:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    if not pid_alive(pid, marker) and not group_alive():
        return f"process group {pid} had already ended"
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while group_alive() and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        await asyncio.sleep(0.05)
    if not group_alive():
        return f"process group {pid} stopped with SIGTERM"
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    return f"process group {pid} killed with SIGKILL after {grace_s:g}s"


async def run_command(
    command: str, *, timeout_s: float, env: dict[str, str] | None = None, cwd: str | None = None
) -> HookResult:
    """Run `command` in a shell (own process group), output captured; kill the group on timeout."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_shell(
        command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, _ = await proc.communicate()
    except (TimeoutError, asyncio.CancelledError) as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if isinstance(exc, asyncio.CancelledError):
            raise
        await proc.wait()
        return HookResult(False, None, "", time.monotonic() - started, timed_out=True)
    text = (out or b"").decode(errors="replace")[-MAX_OUTPUT:]
    return HookResult(proc.returncode == 0, proc.returncode, text, time.monotonic() - started)
