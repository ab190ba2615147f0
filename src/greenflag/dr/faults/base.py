"""What every fault is: `inject()`, and a `revert()` that is idempotent and always runs.

    async with Freeze(pid, seconds=5):      # inject on entry; revert on exit, also when the body raises
        ...

`async with` reverts even when `inject()` itself fails halfway (a fault that mounted a filesystem and then
could not fill it still unmounts it). A fault that cannot be undone (a SIGKILL) has a revert that does nothing.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self, runtime_checkable

__all__ = ["Fault", "FaultBase", "FaultError"]


class FaultError(RuntimeError):
    """A fault could not be injected (or reverted); the message says which fault and why."""


@runtime_checkable
class Fault(Protocol):
    name: str

    async def inject(self) -> None: ...

    async def revert(self) -> None: ...


class FaultBase:
    """`async with` support for faults: revert in `finally`, also after a failed inject."""

    name = "fault"

    async def inject(self) -> None:
        raise NotImplementedError

    async def revert(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        try:
            await self.inject()
        except BaseException:
            await self.revert()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.revert()
