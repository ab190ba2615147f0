"""Lifecycle hooks: shell commands run with a timeout, their output kept (CodeDeploy's lifecycle names)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass

__all__ = ["HookResult", "run_command"]

MAX_OUTPUT = 64 * 1024


@dataclass(frozen=True)
class HookResult:
    ok: bool
    returncode: int | None  # None when it timed out
    output: str  # stdout and stderr, interleaved, last 64 KiB
    duration_s: float

    @property
    def detail(self) -> str:
        if self.returncode is None:
            return f"timed out after {self.duration_s:.1f}s"
        return f"exit {self.returncode}" if self.returncode else "exit 0"


async def run_command(
    command: str, *, timeout_s: float, env: dict[str, str] | None = None, cwd: str | None = None
) -> HookResult:
    """Run `command` in a shell (own process group); on timeout kill the whole group. Never raises for the
    command's own failures."""
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_shell(
            command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        return HookResult(False, 127, f"cannot start: {exc}", time.monotonic() - started)
    try:
        async with asyncio.timeout(timeout_s):
            out, _ = await proc.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            out, _ = await asyncio.wait_for(proc.communicate(), 2.0)
        return HookResult(False, None, "", time.monotonic() - started)
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    text = (out or b"").decode(errors="replace")[-MAX_OUTPUT:]
    return HookResult(proc.returncode == 0, proc.returncode, text, time.monotonic() - started)
