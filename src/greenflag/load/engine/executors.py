"""Run an executor plan (`schedules.py`) with a scenario's VUs on the running event loop.

A scenario hands out VUs; a VU runs one iteration at a time. Closed models loop VUs back to back; open models
start iterations at their scheduled instants, taking an idle VU (or allocating one up to max VUs) and counting
`dropped_iterations` when none can be had. Iterations get `scheduled`, the perf_counter instant they were meant
to start, so latency can be measured from the schedule (coordinated omission corrected).

The end of a run is k6's graceful stop: when the duration is over no iteration starts; the running ones get
`graceful_stop` seconds to finish and are counted as usual; those still running then are interrupted and
counted in `interrupted_iterations` (a request they had in flight is counted too, with the error class
`interrupted`). Then every VU's `stop()` runs and the run has ended: nothing is sent after that, not even a
retry of a request cut off on a closing connection.

Optional VU methods the runner uses when a VU has them: `bind(state)` (the VU sees the run's state), `loop`
(a VU that runs its own closed loop), `fire` (an open-model iteration started from a callback) and
`interrupt()` (cut off such a callback iteration at the end).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from greenflag.hdr import Histogram
from greenflag.load.engine import schedules as sch
from greenflag.load.metrics.series import Registry

__all__ = ["RunState", "Scenario", "VirtualUser", "run_plan"]

_perf = time.perf_counter


class VirtualUser(Protocol):
    async def start(self) -> None: ...

    async def iteration(self, scheduled: float) -> None:
        """One iteration; must not raise for HTTP or script errors (count them instead)."""
        ...

    async def stop(self) -> None: ...


class Scenario(Protocol):
    def new_vu(self, vu_id: int) -> VirtualUser: ...


DEFAULT_GRACEFUL_STOP = 30.0  # seconds, as k6


@dataclass
class RunState:
    registry: Registry
    graceful_stop: float = DEFAULT_GRACEFUL_STOP
    stop_at: float = 0.0  # perf_counter instant: no iteration starts from then on
    abort_reason: str | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)  # set when the duration is over (or aborted)
    over: asyncio.Event = field(default_factory=asyncio.Event)  # set when the run has ended (after the graceful stop)
    dispatch_lag: Histogram = field(default_factory=Histogram)
    active: int = 0
    fired: int = 0  # callback iterations in flight (VUs with `fire`)
    drained: asyncio.Future[None] | None = None  # resolved when `fired` falls to 0 during the graceful stop
    hurry: asyncio.Event = field(default_factory=asyncio.Event)  # set: end the graceful stop now
    ended: bool = False  # the run has ended: no request may leave any more
    next_vu_id: int = 1

    def abort(self, reason: str) -> None:
        if self.abort_reason is None:
            self.abort_reason = reason
        self.stop_at = float("-inf")  # hot paths compare perf_counter() < stop_at and nothing else
        self.stopping.set()

    def stop_signal(self, reason: str) -> None:
        """SIGINT/SIGTERM: the first ends the run (the graceful stop follows); one during the graceful stop
        interrupts what still runs at once."""
        if self.stopping.is_set():
            self.hurry.set()
        self.abort(reason)

    @property
    def running(self) -> bool:
        return not self.stopping.is_set() and _perf() < self.stop_at


class _Runner:
    def __init__(self, scenario: Scenario, state: RunState) -> None:
        self.scenario = scenario
        self.state = state
        self.tasks: set[asyncio.Task[None]] = set()
        self.vus: list[VirtualUser] = []

    def new_vu(self) -> VirtualUser:
        vu = self.scenario.new_vu(self.state.next_vu_id)
        self.state.next_vu_id += 1
        self.vus.append(vu)
        bind = getattr(vu, "bind", None)
        if bind is not None:
            bind(self.state)
        return vu

    def spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def run_iteration(self, vu: VirtualUser, scheduled: float) -> None:
        registry = self.state.registry
        self.state.active += 1
        registry.note_vus(self.state.active)
        try:
            await vu.iteration(scheduled)
        except asyncio.CancelledError:
            registry.interrupted_iterations += 1  # the graceful stop ran out (the VU counted its request)
            raise
        finally:
            self.state.active -= 1
        registry.iterations += 1
        registry.iteration_duration.record(int((_perf() - scheduled) * 1e6))

    async def loop_vu(self, vu: VirtualUser, keep_going: Callable[[], bool]) -> None:
        await vu.start()
        fast_loop = getattr(vu, "loop", None)
        if fast_loop is not None:  # a VU that runs its own closed loop (quick mode's callback bursts)
            self.state.active += 1
            try:
                await fast_loop(None if keep_going is _always else keep_going, self.state)
            finally:
                self.state.active -= 1
            return
        while keep_going() and self.state.running:
            await self.run_iteration(vu, _perf())

    async def finish(self) -> None:
        """The graceful stop: let running iterations end within `graceful_stop`, then interrupt the rest (counted),
        call every VU's stop(), and mark the run ended."""
        state = self.state
        await self._drain(_perf() + state.graceful_stop)
        state.ended = True
        for vu in self.vus:  # callback iterations still in flight: cut off and counted by the VU
            interrupt = getattr(vu, "interrupt", None)
            if interrupt is not None and interrupt():
                state.registry.interrupted_iterations += 1
                state.fired -= 1
        pending = set(self.tasks)
        for task in pending:
            task.cancel()  # before any connection closes, so that no task can retry on a new one
        if pending:
            await asyncio.wait(pending, timeout=5)
        stops = [asyncio.ensure_future(_quiet_stop(vu)) for vu in self.vus]
        if stops:
            _, late = await asyncio.wait(stops, timeout=5)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=1)
        state.active = 0
        state.over.set()

    async def _drain(self, deadline: float) -> None:
        """Wait until no iteration runs (tasks and callback iterations, including retries they start), until
        `deadline`, or until the state is told to hurry (a second stop signal)."""
        state = self.state
        loop = asyncio.get_running_loop()
        hurry = asyncio.ensure_future(state.hurry.wait())
        try:
            while not state.hurry.is_set():
                waiters: set[asyncio.Future[Any]] = set()
                pending = {task for task in self.tasks if not task.done()}
                if pending:
                    waiters.add(asyncio.ensure_future(asyncio.wait(pending)))  # all of them
                if state.fired > 0:
                    if state.drained is None or state.drained.done():
                        state.drained = loop.create_future()
                    waiters.add(state.drained)
                remaining = deadline - _perf()
                if not waiters or remaining <= 0:
                    return
                await asyncio.wait({*waiters, hurry}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    if waiter is not state.drained:
                        waiter.cancel()  # the wrapper only: the tasks it waits for go on
        finally:
            hurry.cancel()

    async def wait_end(self) -> None:
        remaining = self.state.stop_at - _perf()
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.state.stopping.wait(), timeout=remaining)


async def _quiet_stop(vu: VirtualUser) -> None:
    with contextlib.suppress(Exception):
        await vu.stop()


async def _closed(runner: _Runner, vus: int, keep_going: Callable[[], Callable[[], bool]]) -> None:
    """`vus` looping VUs; keep_going() makes each VU's 'one more iteration?' predicate. Returns when every VU
    is done or the duration is over; the VUs' iterations in flight are left to the graceful stop."""
    for _ in range(vus):
        runner.spawn(runner.loop_vu(runner.new_vu(), keep_going()))
    runner.state.registry.note_vus(vus)
    # asyncio.wait, not gather: cancelling a gather would cancel every VU and the requests they have in flight
    done = asyncio.ensure_future(asyncio.wait(set(runner.tasks)))
    stopping = asyncio.ensure_future(runner.wait_end())
    await asyncio.wait({done, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    done.cancel()


def _always() -> bool:
    return True


def _budget(count: int) -> Callable[[], bool]:
    left = [count]

    def take() -> bool:
        left[0] -= 1
        return left[0] >= 0

    return take


async def _ramping_vus(runner: _Runner, config: sch.RampingVUs, start: float) -> None:
    stops: list[asyncio.Event] = []

    async def one(stop: asyncio.Event) -> None:
        await runner.loop_vu(runner.new_vu(), lambda: not stop.is_set())

    while runner.state.running:
        target = sch.vus_at(config.start_vus, config.stages, _perf() - start)
        live = [event for event in stops if not event.is_set()]
        for event in live[target:]:  # ramp down: these VUs stop after their current iteration
            event.set()
        for _ in range(target - len(live)):
            event = asyncio.Event()
            stops.append(event)
            runner.spawn(one(event))
        runner.state.registry.note_vus(min(target, len(stops)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runner.state.stopping.wait(), timeout=0.05)


class _Pool:
    """The open model's VUs: idle ones, allocation up to max VUs, and the end of callback iterations."""

    def __init__(self, runner: _Runner, max_vus: int) -> None:
        self.runner = runner
        self.state = runner.state
        self.idle: deque[VirtualUser] = deque()
        self.allocated = 0
        self.max_vus = max_vus

    async def allocate(self) -> VirtualUser:
        self.allocated += 1
        registry = self.state.registry
        registry.vus_max = max(registry.vus_max, self.allocated)  # k6: vus_max counts allocated VUs
        vu = self.runner.new_vu()
        await vu.start()
        return vu

    async def take(self) -> VirtualUser | None:
        """An idle VU, a new one up to max VUs, or None (the iteration is dropped)."""
        if self.idle:
            return self.idle.popleft()
        if self.allocated < self.max_vus:
            return await self.allocate()
        return None

    async def one(self, vu: VirtualUser, due: float) -> None:
        try:
            await self.runner.run_iteration(vu, due)
        finally:
            self.idle.append(vu)

    def fired_done(self, vu: VirtualUser, retry_due: float | None) -> None:
        """A callback iteration ended; `retry_due`: its request met a stale keep-alive connection and must be
        sent again on a new one (the coroutine path), still as the iteration scheduled at that instant."""
        state = self.state
        state.active -= 1
        state.fired -= 1
        if state.fired == 0 and state.drained is not None and not state.drained.done():
            state.drained.set_result(None)
        if retry_due is not None and not state.ended:
            self.runner.spawn(self.one(vu, retry_due))
        else:
            self.idle.append(vu)


async def _arrival_rate(
    runner: _Runner, config: sch.ConstantArrivalRate | sch.RampingArrivalRate, start: float
) -> None:
    state = runner.state
    if isinstance(config, sch.ConstantArrivalRate):
        offsets = sch.arrival_offsets(config.rate, [sch.Stage(config.duration, config.rate)])
    else:
        offsets = sch.arrival_offsets(config.start_rate, config.stages)
    pool = _Pool(runner, config.max_vus)
    for _ in range(config.pre_allocated_vus):
        pool.idle.append(await pool.allocate())
    fired_done = pool.fired_done
    for offset in offsets:
        due = start + offset
        now = _perf()
        if due > now + 0.0005:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.stopping.wait(), timeout=due - now)
            now = _perf()
        if not state.running:
            break
        state.dispatch_lag.record(int(max(0.0, now - due) * 1e6))
        vu = await pool.take()
        if vu is None:
            state.registry.dropped_iterations += 1
            continue
        fire = getattr(vu, "fire", None)  # VUs that can start an iteration from a callback (quick mode)
        if fire is not None and fire(due, fired_done):
            state.active += 1
            state.fired += 1
            state.registry.note_vus(state.active)
            continue
        runner.spawn(pool.one(vu, due))
    await runner.wait_end()


async def run_plan(config: sch.ExecutorConfig, scenario: Scenario, state: RunState) -> None:
    """Run the plan until it ends, `state.abort()` is called, or its duration passes; then stop gracefully."""
    runner = _Runner(scenario, state)
    start = _perf()
    state.stop_at = start + sch.total_duration(config)
    try:
        if isinstance(config, sch.ConstantVUs):
            await _closed(runner, config.vus, lambda: _always)
        elif isinstance(config, sch.RampingVUs):
            await _ramping_vus(runner, config, start)
        elif isinstance(config, sch.SharedIterations):
            shared = _budget(config.iterations)
            await _closed(runner, config.vus, lambda: shared)
        elif isinstance(config, sch.PerVUIterations):
            await _closed(runner, config.vus, lambda: _budget(config.iterations))
        else:
            await _arrival_rate(runner, config, start)
    finally:
        state.stopping.set()
        await runner.finish()
