"""The scenario API users script journeys with: `from greenflag import User, task, between, constant, pacing`.

    class Visitor(User):
        wait_time = between(0.5, 2)

        @task(3)
        async def browse(self):
            await self.http.get("/", name="home")

Each VU runs one `User` instance: `on_start()` once, then one weighted task per iteration followed by its
`wait_time`, and `on_stop()` at the end. See docs/journeys.md.
"""

from __future__ import annotations

import bisect
import inspect
import random
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

from greenflag.load.scenarios.feeders import Feeder, FeederExhausted

if TYPE_CHECKING:
    from greenflag.load.http.session import HttpSession
    from greenflag.load.metrics.series import Registry

__all__ = [
    "Feeder",
    "FeederExhausted",
    "TaskFn",
    "User",
    "Wait",
    "between",
    "constant",
    "pacing",
    "pick",
    "task",
    "task_table",
]

TASK_ATTR = "__greenflag_task__"
TaskFn = Callable[[Any], Coroutine[Any, Any, Any]]
F = TypeVar("F", bound=Callable[..., Any])
_perf = time.perf_counter
# golden-ratio step of the low-discrepancy sequence that picks tasks: exact weights over time, no shared RNG
_STEP = 0.6180339887498949


class Wait:
    """How long a VU waits after a task. `delay(elapsed)` gets the task's own duration in seconds."""

    def delay(self, elapsed: float) -> float:
        raise NotImplementedError


class _Between(Wait):
    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def delay(self, elapsed: float) -> float:
        return random.uniform(self.low, self.high)

    def __repr__(self) -> str:
        return f"between({self.low}, {self.high})"


class _Constant(Wait):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def delay(self, elapsed: float) -> float:
        return self.seconds

    def __repr__(self) -> str:
        return f"constant({self.seconds})"


class _Pacing(Wait):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def delay(self, elapsed: float) -> float:
        return max(0.0, self.seconds - elapsed)

    def __repr__(self) -> str:
        return f"pacing({self.seconds})"


def _seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 86_400:
        raise ValueError(f"{name}: expected seconds ≥ 0, got {value!r}")
    return float(value)


def between(low: float, high: float) -> Wait:
    """Wait a uniformly random time between `low` and `high` seconds after each task."""
    low, high = _seconds("between(low)", low), _seconds("between(high)", high)
    if high < low:
        raise ValueError(f"between({low}, {high}): high is below low")
    return _Between(low, high)


def constant(seconds: float) -> Wait:
    """Wait `seconds` after each task."""
    return _Constant(_seconds("constant()", seconds))


def pacing(seconds: float) -> Wait:
    """Start a task every `seconds` at most: wait what is left of `seconds` after the task (none if it took longer)."""
    return _Pacing(_seconds("pacing()", seconds))


@overload
def task(weight: F) -> F: ...


@overload
def task(weight: int = 1) -> Callable[[F], F]: ...


def task(weight: int | F = 1) -> Any:
    """`@task` or `@task(3)` on an `async def` method: a journey the VU picks with that relative weight."""

    def mark(fn: F, w: int) -> F:
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise ValueError(f"@task({w!r}) on {getattr(fn, '__qualname__', fn)}: weight must be an integer ≥ 1")
        setattr(fn, TASK_ATTR, w)
        return fn

    if callable(weight):
        return mark(weight, 1)
    return lambda fn: mark(fn, weight)


def task_table(cls: type) -> list[tuple[str, int]]:
    """(method name, weight) of a class's tasks, in definition order (subclasses override by name)."""
    found: dict[str, int] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            weight = getattr(value, TASK_ATTR, None)
            if isinstance(weight, int):
                found[name] = weight
            elif name in found:
                del found[name]  # overridden without @task
    return list(found.items())


def pick(cumulative: list[int], u: float) -> int:
    """The index chosen by `u` in [0, 1) over cumulative weights (e.g. [3, 4, 5] for weights 3, 1, 1)."""
    return min(bisect.bisect_right(cumulative, u * cumulative[-1]), len(cumulative) - 1)


def first_phase(vu_id: int) -> float:
    """Where a VU starts in the pick sequence: spread over [0, 1) so VUs do not all start on the same task."""
    return (vu_id * 0.7548776662466927) % 1.0


def next_phase(phase: float) -> float:
    return (phase + _STEP) % 1.0


class _Step:
    __slots__ = ("name", "previous", "started", "user")

    def __init__(self, user: User, name: str) -> None:
        self.user = user
        self.name = name
        self.previous: str | None = None
        self.started = 0.0

    def __enter__(self) -> _Step:
        http = self.user.http
        self.previous = http.step
        http.step = self.name if self.previous is None else f"{self.previous}::{self.name}"
        self.started = _perf()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        http = self.user.http
        tags = (("step", http.step or self.name),)
        self.user.registry.add_trend("step_duration", int((_perf() - self.started) * 1e6), tags)
        http.step = self.previous

    async def __aenter__(self) -> _Step:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


class User:
    """A simulated user. Subclass it, give it `@task` methods, optionally `wait_time`, `host`, `weight`."""

    host: ClassVar[str | None] = None
    wait_time: ClassVar[Wait | float | None] = None
    weight: ClassVar[int] = 1  # relative share of VUs when a file defines several User classes
    abstract: ClassVar[bool] = False  # True: a base class, not run itself
    timeout: ClassVar[float] = 60.0  # per request, seconds

    def __init__(self, vu_id: int, http: HttpSession, registry: Registry) -> None:
        self.vu_id = vu_id
        self.http = http
        self.registry = registry
        self.iteration = 0

    async def on_start(self) -> None:
        """Once per VU before its first task (log in, pick a data row, …)."""

    async def on_stop(self) -> None:
        """Once per VU at the end of the run."""

    def check(self, value: Any, name: str, predicate: Callable[[Any], Any] | None = None) -> bool:
        """Record a named check; never raises. Without a predicate: a response passes when its status is 2xx/3xx,
        anything else by its truth value. A predicate that raises fails the check."""
        try:
            if predicate is not None:
                passed = bool(predicate(value))
            else:
                ok = getattr(value, "ok", None)
                passed = bool(value) if ok is None else bool(ok)
        except Exception:
            passed = False
        self.registry.add_check(name, passed)
        return passed

    def step(self, name: str) -> _Step:
        """`with self.step("checkout"):` — requests inside are tagged step=checkout; `step_duration` is recorded."""
        return _Step(self, name)

    def row(self, feeder: Feeder) -> dict[str, Any]:
        """This VU's row of a feeder (same row all run long)."""
        return feeder.for_vu(self.vu_id)


def is_async_task(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn)
