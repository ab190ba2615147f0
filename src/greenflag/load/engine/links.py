"""How the coordinator talks to a worker, whatever runs it: the `Link` protocol, its errors, and the in-process
link (a `Worker` on the coordinator's own event loop: one process running several scenarios).

A link is opened (the worker loads the scenario and says it is ready), started at a common wall-clock instant,
and read: `messages()` yields `("delta", seq, parts)` until `("done", info)`, or raises `WorkerDied`. `control()`
sends `("ack", seq)`, `("stop", reason)`, `("hurry",)`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

from greenflag.load.engine.runconfig import ScenarioRun
from greenflag.load.engine.worker import Channel, Worker

__all__ = ["InProcessLink", "Link", "WorkerDied", "WorkerRefused"]


class WorkerDied(Exception):
    """The worker stopped before its end (killed, crashed, unreachable); the message says how."""


class WorkerRefused(Exception):
    """The worker could not load the scenario; `exit_code` is the one a single process would have exited with."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Link(Protocol):
    name: str
    info: dict[str, Any]

    async def open(self) -> None: ...

    async def start(self, epoch: float) -> None: ...

    async def control(self, message: tuple[Any, ...]) -> None: ...

    def messages(self) -> AsyncIterator[tuple[Any, ...]]: ...

    async def close(self) -> None: ...


class _Queue:
    """The in-process worker's channel: messages go straight into the coordinator's queue."""

    def __init__(self, queue: asyncio.Queue[tuple[Any, ...]]) -> None:
        self.queue = queue

    async def send(self, message: tuple[Any, ...]) -> None:
        self.queue.put_nowait(message)


class InProcessLink:
    """A Worker running in this process (no pickling: the deltas are handed over as they are)."""

    def __init__(self, runs: list[ScenarioRun], index: int = 0, count: int = 1) -> None:
        self.name = f"worker {index + 1}"
        self.worker = Worker(runs, index, count)
        self.info: dict[str, Any] = self.worker.describe()
        self._queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        return None

    async def start(self, epoch: float) -> None:
        self._task = asyncio.ensure_future(self._run(epoch))

    def channel(self) -> Channel:
        return _Queue(self._queue)

    async def _run(self, epoch: float) -> None:
        channel = self.channel()
        info = await self.worker.run(epoch, channel)
        await self.worker.settle()
        await channel.send(("done", info))

    async def control(self, message: tuple[Any, ...]) -> None:
        self.worker.control(message)

    async def messages(self) -> AsyncIterator[tuple[Any, ...]]:
        while True:
            getter = asyncio.ensure_future(self._queue.get())
            waiting: set[asyncio.Future[Any]] = {getter}
            if self._task is not None:
                waiting.add(self._task)
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                assert self._task is not None
                error = self._task.exception()
                if error is not None:
                    raise WorkerDied(f"failed: {type(error).__name__}: {error}") from error
                if self._queue.empty():
                    raise WorkerDied("ended without its final report")
                continue
            message = getter.result()
            yield message
            if message[0] == "done":
                return

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
