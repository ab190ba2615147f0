"""The scenario API users script journeys with (filled in by the journeys work)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

__all__ = ["User", "between", "constant", "pacing", "task"]

WaitTime = Callable[[], float]


def between(low: float, high: float) -> WaitTime:
    return lambda: random.uniform(low, high)


def constant(seconds: float) -> WaitTime:
    return lambda: seconds


def pacing(seconds: float) -> WaitTime:
    return lambda: seconds


def task(weight: int | Callable[..., Any] = 1) -> Any:
    def mark(fn: Callable[..., Any], w: int) -> Callable[..., Any]:
        fn.__greenflag_task__ = w  # type: ignore[attr-defined]
        return fn

    if callable(weight):
        return mark(weight, 1)
    return lambda fn: mark(fn, weight)


class User:
    host: str | None = None
