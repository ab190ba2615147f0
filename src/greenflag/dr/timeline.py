"""The drill's timeline recorder: every step appends a timestamped `Event` (monotonic offset + UTC wall time)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from greenflag.clock import Clock, SystemClock
from greenflag.dr.model import Event, EventName

__all__ = ["Timeline", "iso"]


def iso(when: dt.datetime) -> str:
    """ISO-8601 UTC with microseconds and a Z: 2026-01-01T12:00:00.123456Z."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Timeline:
    def __init__(self, clock: Clock | None = None, echo: Callable[[Event], None] | None = None) -> None:
        self.clock = clock or SystemClock()
        self._start = self.clock.monotonic()
        self._echo = echo
        self.events: list[Event] = []

    def elapsed(self) -> float:
        return self.clock.monotonic() - self._start

    def add(self, name: EventName | str, **detail: Any) -> Event:
        event = Event(self.elapsed(), iso(self.clock.now()), str(name), detail)
        self.events.append(event)
        if self._echo is not None:
            self._echo(event)
        return event
