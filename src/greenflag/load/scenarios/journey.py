"""Run `User` classes as the engine's VUs: one User instance, one HTTP session per VU.

An iteration is one task (picked by weight, deterministically per VU) followed by the class's `wait_time` (cut
short when the run's duration is over: the graceful stop waits for requests, not for pauses). An exception in a
task or hook is counted by type in `registry.script_errors` and the VU carries on.
"""

from __future__ import annotations

import asyncio
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from greenflag.load.engine.executors import RunState
from greenflag.load.http.client import Target
from greenflag.load.http.session import HttpSession
from greenflag.load.metrics.series import Registry
from greenflag.load.scenarios.user import User, Wait, constant, first_phase, next_phase, pick, task_table

__all__ = ["ClassPlan", "SessionOptions", "UserScenario", "UserVU", "count_error"]

_perf = time.perf_counter
# headers sent with every request of every VU, and a throttle awaited before each (HttpSession's options)
SessionOptions = tuple[tuple[tuple[str, str], ...], Callable[[], Awaitable[None]] | None]


@dataclass(frozen=True)
class ClassPlan:
    """What a VU of one User class needs: its tasks' names and cumulative weights, host and wait."""

    cls: type[User]
    names: tuple[str, ...]
    cumulative: list[int]
    base: Target | None
    wait: Wait | None

    @classmethod
    def of(cls, user_class: type[User], base: Target | None) -> ClassPlan:
        table = task_table(user_class)
        cumulative: list[int] = []
        total = 0
        for _, weight in table:
            total += weight
            cumulative.append(total)
        declared = user_class.wait_time
        wait = declared if isinstance(declared, Wait) else None
        if isinstance(declared, int | float) and not isinstance(declared, bool):
            wait = constant(float(declared))
        return cls(user_class, tuple(name for name, _ in table), cumulative, base, wait)


_PACKAGE_DIR = str(Path(__file__).resolve().parents[2])  # src/greenflag: its frames are not the script's


def where(exc: BaseException) -> str:
    """file:line of the script frame nearest to where `exc` was raised (greenflag's own frames skipped)."""
    frames = traceback.extract_tb(exc.__traceback__)
    outside = [f for f in frames if not str(Path(f.filename).resolve()).startswith(_PACKAGE_DIR)]
    chosen = outside or frames
    if not chosen:
        return "?"
    frame = chosen[-1]
    return f"{frame.filename}:{frame.lineno} in {frame.name}"


def count_error(registry: Registry, exc: BaseException, seen: set[str] | None = None) -> None:
    """Count a script error by type; the first of each type is also reported on stderr with its location."""
    name = type(exc).__name__
    registry.script_errors[name] = registry.script_errors.get(name, 0) + 1
    if seen is not None and name not in seen:
        seen.add(name)
        print(f"greenflag: script error {name}: {exc} at {where(exc)} (counted; the VU goes on)", file=sys.stderr)


class UserVU:
    __slots__ = ("phase", "plan", "registry", "seen", "session", "state", "user")

    def __init__(
        self,
        plan: ClassPlan,
        vu_id: int,
        registry: Registry,
        seen: set[str] | None = None,
        session: SessionOptions | None = None,
    ) -> None:
        self.plan = plan
        self.registry = registry
        self.seen = seen
        headers, throttle = session or ((), None)
        self.session = HttpSession(
            registry, plan.base, timeout=plan.cls.timeout, extra_headers=headers, throttle=throttle
        )
        self.user = plan.cls(vu_id, self.session, registry)
        self.phase = first_phase(vu_id)
        self.state: RunState | None = None

    def bind(self, state: RunState) -> None:
        self.state = state

    async def start(self) -> None:
        try:
            await self.user.on_start()
        except Exception as exc:
            count_error(self.registry, exc, self.seen)
        self.session.step = None

    async def iteration(self, scheduled: float) -> None:
        plan = self.plan
        session = self.session
        session.pending = scheduled
        self.user.iteration += 1
        name = plan.names[pick(plan.cumulative, self.phase)]
        self.phase = next_phase(self.phase)
        started = _perf()
        try:
            await getattr(self.user, name)()
        except Exception as exc:
            count_error(self.registry, exc, self.seen)
        session.pending = None
        session.step = None
        if plan.wait is not None:
            delay = plan.wait.delay(_perf() - started)
            if self.state is not None:  # no pause past the end of the duration
                delay = min(delay, self.state.stop_at - _perf())
            if delay > 0:
                await asyncio.sleep(delay)

    async def stop(self) -> None:
        try:
            await self.user.on_stop()
        except Exception as exc:
            count_error(self.registry, exc, self.seen)
        finally:
            self.session.close()


class UserScenario:
    """The engine's Scenario for a set of User classes; VUs are shared among classes by their `weight`."""

    def __init__(self, plans: list[ClassPlan], registry: Registry, session: SessionOptions | None = None) -> None:
        self.plans = plans
        self.registry = registry
        self.session = session
        self.seen: set[str] = set()  # error types already reported on stderr
        self.cumulative: list[int] = []
        total = 0
        for plan in plans:
            total += max(1, plan.cls.weight)
            self.cumulative.append(total)

    def plan_for(self, vu_id: int) -> ClassPlan:
        # a different irrational step than the task sequence, so class and first task are not correlated
        return self.plans[pick(self.cumulative, (vu_id * 0.6180339887498949) % 1.0)]

    def new_vu(self, vu_id: int) -> UserVU:
        return UserVU(self.plan_for(vu_id), vu_id, self.registry, self.seen, self.session)
