"""Run an executor plan (`schedules.py`) with a scenario's VUs on the running event loop.

A scenario hands out VUs; a VU runs one iteration at a time. Closed models loop VUs back to back; open models
start iterations at their scheduled instants, taking an idle VU (or allocating one up to max VUs) and counting
`dropped_iterations` when none can be had. Iterations get `scheduled`, the perf_counter instant they were meant
to start, so latency can be measured from the schedule (coordinated omission corrected).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

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


@dataclass
class RunState:
    registry: Registry
    graceful_stop: float = 10.0
    stop_at: float = 0.0  # perf_counter instant
    abort_reason: str | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    dispatch_lag: Histogram = field(default_factory=Histogram)
    active: int = 0
    next_vu_id: int = 1

    def abort(self, reason: str) -> None:
        if self.abort_reason is None:
            self.abort_reason = reason
        self.stop_at = float("-inf")  # hot paths compare perf_counter() < stop_at and nothing else
        self.stopping.set()

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
            registry.iterations += 1
            registry.iteration_duration.record(int((_perf() - scheduled) * 1e6))
        finally:
            self.state.active -= 1

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
        """Let running iterations end within graceful_stop, then interrupt the rest; call every VU's stop()."""
        if self.tasks:
            _, pending = await asyncio.wait(set(self.tasks), timeout=self.state.graceful_stop)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        for vu in self.vus:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(vu.stop(), timeout=5)
        self.state.active = 0

    async def wait_end(self) -> None:
        remaining = self.state.stop_at - _perf()
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.state.stopping.wait(), timeout=remaining)


async def _closed(runner: _Runner, vus: int, keep_going: Callable[[], Callable[[], bool]]) -> None:
    """`vus` looping VUs; keep_going() makes each VU's 'one more iteration?' predicate."""
    for _ in range(vus):
        runner.spawn(runner.loop_vu(runner.new_vu(), keep_going()))
    runner.state.registry.note_vus(vus)

    async def all_done() -> None:
        await asyncio.gather(*runner.tasks, return_exceptions=True)

    done = asyncio.ensure_future(all_done())
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


async def _arrival_rate(
    runner: _Runner, config: sch.ConstantArrivalRate | sch.RampingArrivalRate, start: float
) -> None:
    state = runner.state
    if isinstance(config, sch.ConstantArrivalRate):
        offsets = sch.arrival_offsets(config.rate, [sch.Stage(config.duration, config.rate)])
    else:
        offsets = sch.arrival_offsets(config.start_rate, config.stages)
    idle: deque[VirtualUser] = deque()
    for _ in range(config.pre_allocated_vus):
        vu = runner.new_vu()
        await vu.start()
        idle.append(vu)
    allocated = config.pre_allocated_vus
    registry = state.registry
    registry.vus_max = max(registry.vus_max, allocated)  # k6: vus_max counts allocated VUs

    async def one(vu: VirtualUser, due: float) -> None:
        try:
            await runner.run_iteration(vu, due)
        finally:
            idle.append(vu)

    def fired_done(vu: VirtualUser) -> None:
        state.active -= 1
        idle.append(vu)

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
        if idle:
            vu = idle.popleft()
        elif allocated < config.max_vus:
            allocated += 1
            registry.vus_max = max(registry.vus_max, allocated)
            vu = runner.new_vu()
            await vu.start()
        else:
            state.registry.dropped_iterations += 1
            continue
        fire = getattr(vu, "fire", None)  # VUs that can start an iteration from a callback (quick mode)
        if fire is not None and fire(due, fired_done):
            state.active += 1
            state.registry.note_vus(state.active)
            continue
        runner.spawn(one(vu, due))
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
