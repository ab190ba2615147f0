"""Process faults: kill (SIGKILL by default) and freeze (SIGSTOP, then SIGCONT on revert or after N seconds)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from greenflag.dr.faults.base import FaultBase, FaultError

__all__ = ["Freeze", "Kill"]


def _send(pid: int, sig: int, group: bool) -> None:
    if group:
        os.killpg(os.getpgid(pid), sig)
    else:
        os.kill(pid, sig)


class Kill(FaultBase):
    """Send `sig` (SIGKILL) to a process, or to its whole process group. Cannot be undone: revert does nothing;
    bringing the process back is the supervisor's (or the platform's) job, which is what the fault tests."""

    name = "kill"

    def __init__(self, pid: int, *, sig: int = signal.SIGKILL, group: bool = False) -> None:
        self.pid, self.sig, self.group = pid, sig, group
        self.injected = False

    async def inject(self) -> None:
        try:
            _send(self.pid, self.sig, self.group)
        except ProcessLookupError:
            raise FaultError(f"kill: no process {self.pid}") from None
        except PermissionError:
            raise FaultError(f"kill: not allowed to signal process {self.pid}") from None
        self.injected = True

    async def revert(self) -> None:
        return None


class Freeze(FaultBase):
    """SIGSTOP a process (or its group): it holds its sockets and locks but does nothing, like a stalled VM.
    With `seconds`, it thaws by itself after that long; revert (SIGCONT) thaws it at once, idempotently."""

    name = "freeze"

    def __init__(self, pid: int, *, seconds: float | None = None, group: bool = False) -> None:
        self.pid, self.seconds, self.group = pid, seconds, group
        self.frozen = False
        self._timer: asyncio.Task[None] | None = None

    async def inject(self) -> None:
        try:
            _send(self.pid, signal.SIGSTOP, self.group)
        except ProcessLookupError:
            raise FaultError(f"freeze: no process {self.pid}") from None
        except PermissionError:
            raise FaultError(f"freeze: not allowed to signal process {self.pid}") from None
        self.frozen = True
        if self.seconds is not None:
            self._timer = asyncio.create_task(self._thaw_later(self.seconds))

    async def _thaw_later(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._thaw()

    def _thaw(self) -> None:
        if self.frozen:
            with contextlib.suppress(ProcessLookupError):
                _send(self.pid, signal.SIGCONT, self.group)
            self.frozen = False

    async def revert(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        self._timer = None
        self._thaw()

    async def run(self) -> None:
        """Freeze for `seconds`, then thaw (in `finally`)."""
        if self.seconds is None:
            raise FaultError("freeze: run() needs seconds")
        async with self:
            await asyncio.sleep(self.seconds)
