"""A load worker: its part (`schedules.Segment`) of every scenario of a run, on its own event loop, and the metric
deltas it ships to the coordinator once a second.

The same `Worker` runs in a worker process (`local.py`), in a Ray actor (`ray_backend.py`) and, for a single
process running several scenarios, inside the coordinator's own event loop. How it talks is its `Channel`: with
one (`push`), it sends its deltas as it takes them; without one (Ray), the coordinator polls `outbox`. Either way
a delta leaves the outbox only when the coordinator acknowledged it (`delivery.py`).

Messages to the coordinator: `("delta", seq, [(scenario, Delta), …])`; at the end the coordinator gets `info()`
(this worker's generator health, its dispatch lag, the last sequence number). From the coordinator: `("ack", seq)`,
`("stop", reason)` (end the run gracefully, as Ctrl+C would), `("hurry",)` (end the graceful stop now) and
`("lost",)` (the coordinator is gone: stop at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from typing import Any, Protocol

from greenflag.hdr import Histogram
from greenflag.load.engine import schedules as sch
from greenflag.load.engine.delivery import Outbox
from greenflag.load.engine.executors import RunState, run_plan
from greenflag.load.engine.runconfig import ScenarioRun
from greenflag.load.engine.selfcheck import SelfCheck
from greenflag.load.metrics.delta import take
from greenflag.load.metrics.series import Registry

__all__ = ["WORKER_COUNT_ENV", "WORKER_INDEX_ENV", "Channel", "Worker", "segments"]

WORKER_INDEX_ENV = "GREENFLAG_WORKER_INDEX"  # set in a worker before its scenario file is loaded (0, 1, …)
WORKER_COUNT_ENV = "GREENFLAG_WORKER_COUNT"
COORDINATOR_TIMEOUT_S = 30.0  # deltas unacknowledged this long: the coordinator is gone, the worker stops
SETTLE_S = 10.0  # at the end, how long a worker waits for its last deltas to be acknowledged


class Channel(Protocol):
    async def send(self, message: tuple[Any, ...]) -> None:
        """Send one message to the coordinator; raises OSError when it cannot."""
        ...


def segments(runs: list[ScenarioRun], index: int, count: int) -> dict[str, sch.Segment | None]:
    """Each scenario's segment for worker `index` of `count` (None: this worker has no part in it)."""
    out: dict[str, sch.Segment | None] = {}
    for run in runs:
        taking_part = sch.participants(run.plan, count)
        out[run.name] = sch.Segment(index, taking_part) if index < taking_part else None
    return out


class Worker:
    def __init__(self, runs: list[ScenarioRun], index: int = 0, count: int = 1) -> None:
        self.runs = runs
        self.index = index
        self.count = count
        self.segments = segments(runs, index, count)
        self.outbox = Outbox()
        self.registries: dict[str, Registry] = {}
        self.states: dict[str, RunState] = {}
        self.check = SelfCheck()
        self.stop_reason: str | None = None
        self.hurried = False
        self.last_ack = time.monotonic()
        self.last_take = 0.0
        self.channel: Channel | None = None
        self._acked = asyncio.Event()

    def describe(self) -> dict[str, Any]:
        return {"index": self.index, "pid": os.getpid(), "host": socket.gethostname()}

    # -- from the coordinator --------------------------------------------------------------------------------
    def control(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ack":
            self.outbox.ack(int(message[1]))
            self.last_ack = time.monotonic()
            self._acked.set()
        elif kind == "stop":
            self.stop(str(message[1]))
        elif kind in ("hurry", "lost"):
            self.stop("the coordinator is gone" if kind == "lost" else self.stop_reason or "stopped")
            self.hurried = True
            for state in self.states.values():
                state.hurry.set()

    def stop(self, reason: str) -> None:
        """End the run: scenarios not started yet never start; running ones stop gracefully."""
        if self.stop_reason is None:
            self.stop_reason = reason
        for state in self.states.values():
            state.abort(reason)

    # -- the run ---------------------------------------------------------------------------------------------
    async def run(self, start_epoch: float, channel: Channel | None = None) -> dict[str, Any]:
        """Wait for the common start (wall clock), run this worker's part of every scenario, ship a delta every
        whole second and a last one at the end. Returns `info()`."""
        self.channel = channel
        await self._sleep_until(start_epoch)
        start = time.perf_counter()
        self.last_take = time.time()
        self.check.start()
        tasks = []
        for run in self.runs:
            segment = self.segments[run.name]
            registry = self.registries[run.name] = Registry(start=start)
            state = self.states[run.name] = RunState(registry, graceful_stop=run.graceful_stop)
            if self.stop_reason is not None:
                state.abort(self.stop_reason)
            if segment is not None:
                tasks.append(asyncio.ensure_future(self._scenario(run, state, segment, start)))
        ticker = asyncio.ensure_future(self._tick_until(tasks))
        try:
            if tasks:
                await asyncio.wait(tasks)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        await self.tick()  # the last delta: everything up to the end of every graceful stop
        return await self.info()

    async def _scenario(self, run: ScenarioRun, state: RunState, segment: sch.Segment, start: float) -> None:
        delay = start + run.start_time - time.perf_counter()
        if delay > 0:  # k6's startTime: wait, unless the run is stopped first
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.stopping.wait(), timeout=delay)
        if state.stopping.is_set():
            state.over.set()
            return
        await run_plan(run.plan, run.make(state.registry), state, segment)

    async def _tick_until(self, tasks: list[asyncio.Task[None]]) -> None:
        while True:
            await asyncio.sleep(1.0 - time.time() % 1.0)  # on whole wall-clock seconds: the time series' intervals
            await self.tick()
            if self.outbox.entries and time.monotonic() - self.last_ack > COORDINATOR_TIMEOUT_S:
                self.control(("lost",))

    async def tick(self) -> None:
        """Take every scenario's delta, queue it, and send what is due."""
        now = time.time()
        parts = [(name, take(registry, self.last_take, now)) for name, registry in self.registries.items()]
        self.last_take = now
        self.outbox.add(parts)
        await self.flush()

    async def flush(self) -> None:
        if self.channel is None:
            return
        for seq, payload in self.outbox.due(time.monotonic()):
            try:
                await self.channel.send(("delta", seq, payload))
            except (OSError, ConnectionError, RuntimeError):
                return  # kept: sent again at the next tick
            self.outbox.sent(seq, time.monotonic())

    async def settle(self, timeout: float = SETTLE_S) -> bool:
        """Push mode, at the end: resend until every delta is acknowledged (or `timeout`). True when all were."""
        deadline = time.monotonic() + timeout
        while not self.outbox.empty and time.monotonic() < deadline and not self.hurried:
            self._acked.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acked.wait(), timeout=min(1.0, max(0.0, deadline - time.monotonic())))
            await self.flush()
        return self.outbox.empty

    async def info(self) -> dict[str, Any]:
        lag = Histogram()
        open_model = False
        for run in self.runs:
            state = self.states.get(run.name)
            if state is not None and isinstance(run.plan, sch.ConstantArrivalRate | sch.RampingArrivalRate):
                open_model = True
                lag.merge(state.dispatch_lag)
        generator = await self.check.stop(lag if open_model else None)
        return {
            **self.describe(),
            "last_seq": self.outbox.last_seq,
            "generator": generator,
            "dispatch_lag": lag.to_dict() if open_model else None,
            "stop_reason": self.stop_reason,
        }

    async def _sleep_until(self, epoch: float) -> None:
        while (left := epoch - time.time()) > 0 and self.stop_reason is None:
            await asyncio.sleep(min(left, 0.05))
