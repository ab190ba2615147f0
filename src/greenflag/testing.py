"""Public fakes for greenflag's seams, for users' tests and ours: no sockets, no sleeping."""

from __future__ import annotations

import datetime as dt

__all__ = ["FakeClock"]


class FakeClock:
    """A Clock whose time moves only when told to (`advance`) or when something sleeps on it."""

    def __init__(self, start: float = 1000.0, wall: dt.datetime | None = None) -> None:
        self._t = start
        self._start = start
        self._wall = wall or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def monotonic(self) -> float:
        return self._t

    def now(self) -> dt.datetime:
        return self._wall + dt.timedelta(seconds=self._t - self._start)

    def advance(self, seconds: float) -> None:
        self._t += seconds

    async def sleep(self, seconds: float) -> None:
        self._t += max(0.0, seconds)
