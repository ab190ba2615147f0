"""What only the router knows, observed for the rollout (I/O): how long a backend taken out of traffic keeps
finishing requests (`DrainTimes`: an ALB target group's deregistration delay), how many requests a version that is
about to be stopped still has open (`OpenRequests`: the embedded router, HAProxy), and whether the router's own health
checks pass for a version (`HealthReporter`: ALB target health). Routers without these capabilities report 0 s,
nothing open, and "ready".

- Drain time: the longest of the router's backends, read on the first tick and every minute after; when the router
  cannot be asked, the last answer stands, or `router.drain_timeout` until there is one. The rollout stops a version
  only this long after it lost its traffic.
- Open requests: asked on each tick of a scale-down stage only, for the versions about to be stopped (so a version
  is stopped one tick after the stage began at the soonest); a router that cannot be asked counts as one without
  the capability (the version is stopped as it would be without it).
- Health: asked at most every 2 s while a version waits for readiness; a version is ready only when its probes pass
  and the router reports every one of its instances healthy.
"""

from __future__ import annotations

import logging

from greenflag.clock import Clock
from greenflag.spec import Spec
from greenflag.traffic.base import DrainTimes, HealthReporter, OpenRequests, Router

__all__ = ["RouterFacts"]

log = logging.getLogger(__name__)

DRAIN_EVERY_S = 60.0
HEALTH_EVERY_S = 2.0


class RouterFacts:
    def __init__(self, router: Router, spec: Spec, clock: Clock) -> None:
        self.router = router
        self.spec = spec
        self.clock = clock
        self._drain: float | None = None
        self._drain_due = 0.0
        self._health: dict[tuple[tuple[str, str], ...], tuple[float, bool]] = {}
        self._said: str | None = None

    async def drain_s(self) -> float:
        if not isinstance(self.router, DrainTimes):
            return 0.0
        now = self.clock.monotonic()
        if now >= self._drain_due:
            try:
                times = await self.router.drain_times()
                self._drain, self._drain_due = max(times.values(), default=0.0), now + DRAIN_EVERY_S
            except Exception as exc:  # asked again in a few seconds
                log.warning("router drain times: %s", exc)
                self._drain_due = now + 5.0
        return self._drain if self._drain is not None else float(self.spec.router.drain_timeout)

    async def open_requests(self, versions: dict[str, list[str]]) -> dict[str, int] | None:
        """Version → requests open on its backends (`versions`: version → its backend names, asked for only when
        given); None when the router cannot count them or cannot be asked."""
        if not isinstance(self.router, OpenRequests):
            return None
        if not any(versions.values()):
            return dict.fromkeys(versions, 0)
        try:
            counts = await self.router.open_requests()
        except Exception as exc:
            log.warning("router open requests: %s", exc)
            return None
        return {version: sum(counts.get(n, 0) for n in names) for version, names in versions.items()}

    async def ready(self, backends: dict[str, str]) -> bool:
        """Whether the router's own health checks pass for every one of `backends` (name → URL)."""
        if not isinstance(self.router, HealthReporter) or not backends:
            return True
        key = tuple(sorted(backends.items()))
        now = self.clock.monotonic()
        cached = self._health.get(key)
        if cached is not None and now < cached[0]:
            return cached[1]
        try:
            health = await self.router.backend_health(backends)
            bad = [f"{name}: {health[name].detail}" if name in health else f"{name}: unknown to the router"
                   for name in backends if name not in health or not health[name].ready]  # fmt: skip
        except Exception as exc:
            bad = [f"cannot read the router's health checks: {exc}"]
        said = "; ".join(bad) or "healthy"
        if said != self._said:
            (log.info if not bad else log.warning)("router health checks: %s", said)
            self._said = said
        self._health = {key: (now + HEALTH_EVERY_S, not bad)}
        return not bad
