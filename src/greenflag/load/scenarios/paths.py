"""A list of paths as a scenario: each iteration GETs the next path of the list (round robin over all VUs),
through one HTTP session per VU. The analysis traffic of a rollout uses it (`analysis.traffic.urls`)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from greenflag.load.http.client import Target
from greenflag.load.http.session import HttpSession
from greenflag.load.metrics.series import Registry
from greenflag.load.scenarios.journey import SessionOptions

__all__ = ["PathListScenario", "PathListVU"]


class PathListVU:
    __slots__ = ("scenario", "session")

    def __init__(self, scenario: PathListScenario) -> None:
        self.scenario = scenario
        headers, throttle = scenario.session or ((), None)
        self.session = HttpSession(
            scenario.registry, scenario.base, timeout=scenario.timeout, extra_headers=headers, throttle=throttle
        )

    async def start(self) -> None:
        return None

    async def iteration(self, scheduled: float) -> None:
        session = self.session
        session.pending = scheduled
        await session.get(next(self.scenario.cycle))  # a failed request is counted by the session, never raised

    async def stop(self) -> None:
        self.session.close()


class PathListScenario:
    """GET `paths` in turn against `base` (every VU takes the next one, so each path gets its share)."""

    def __init__(
        self,
        base: Target,
        paths: Sequence[str],
        registry: Registry,
        *,
        timeout: float = 10.0,
        session: SessionOptions | None = None,
    ) -> None:
        if not paths:
            raise ValueError("no paths")
        self.base = base
        self.paths = tuple(paths)
        self.registry = registry
        self.timeout = timeout
        self.session = session
        self.cycle = itertools.cycle(self.paths)

    def new_vu(self, vu_id: int) -> PathListVU:
        return PathListVU(self)
