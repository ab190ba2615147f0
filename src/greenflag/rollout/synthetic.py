"""The controller's analysis traffic (I/O): `analysis.traffic` sent to the version under test and the stable while
an analysis run measures them (`plan.analysis_traffic_due`), through `greenflag.analysis.traffic`.

The load is a task of the controller's event loop, keyed like the analysis run it serves (rollout, run, start):
it starts on the tick the run starts, restarts when the run restarts (`rollout resume` after an Inconclusive
hold), and stops on the tick the run ends, the rollout is held, rolls back (after the router has been told) or
is promoted, and when the controller closes. A restarted controller starts it again for the current run, for
what is left of its `duration`. Start and stop are journaled as `traffic` events with what was sent.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

from greenflag.analysis.traffic import AnalysisTraffic
from greenflag.clock import Clock
from greenflag.platform.base import Instance
from greenflag.rollout.context import MAX_EVENTS
from greenflag.rollout.model import Event, Status
from greenflag.rollout.observe import backend_names
from greenflag.rollout.plan import analysis_traffic_due
from greenflag.spec import Spec
from greenflag.traffic.base import Router, SyntheticTagging

__all__ = ["SyntheticTraffic", "journal", "router_url"]

log = logging.getLogger(__name__)
_Due = tuple[str, float, float | None]  # the analysis run, its start, when its traffic ends (None: while analysing)


def router_url(router: Router, spec: Spec) -> str | None:
    """Where the analysis traffic enters the router: the in-process router's address, else the spec's."""
    url = getattr(router, "url", None)
    return url if isinstance(url, str) else spec.router.public_url()


class SyntheticTraffic:
    def __init__(self, spec: Spec, router: Router, clock: Clock) -> None:
        self.spec = spec
        self.router = router
        self.clock = clock
        self.load: AnalysisTraffic | None = None
        self._key: tuple[int, str, float] | None = None

    def _due(self, status: Status) -> tuple[float, _Due | None, tuple[int, str, float] | None]:
        now = self.clock.now().timestamp()
        due = analysis_traffic_due(self.spec, status, now)
        return now, due, None if due is None else (status.rollout_id, due[0], due[1])

    async def stop_unless_due(self, status: Status) -> list[str]:
        """Before the controller acts on `status`: stop the load when `status` no longer wants it (a rollback, a
        promotion), so no analysis request reaches a version that is being stopped."""
        if self.load is None or self._due(status)[2] == self._key:
            return []
        return await self.stop(f"the analysis run ended ({status.stage})")

    async def sync(self, status: Status, instances: list[Instance]) -> list[str]:
        """Start, keep or stop the analysis traffic for `status`; returns what to journal (`traffic` events)."""
        traffic = self.spec.analysis.traffic
        if traffic is None:
            return []
        now, due, key = self._due(status)
        if key == self._key:
            return []
        said = await self.stop(f"the analysis run ended ({status.stage})" if due is None else "a new analysis run")
        self._key = key
        if due is None:
            return said
        targets = _targets(status, instances)
        url = router_url(self.router, self.spec)
        if not targets.get("canary") or url is None:
            self._key = None  # retried on the next tick (instances not listed yet, or no address for the router)
            return said
        tag = self.router.synthetic_tag() if isinstance(self.router, SyntheticTagging) else None
        base = self.spec.source.parent if self.spec.source is not None else None
        self.load = AnalysisTraffic(
            traffic,
            router_url=url,
            route_header=self.spec.router.route_header,
            tag=tag,
            targets=targets,
            duration_s=None if due[2] is None else due[2] - now,
            base_dir=Path(base) if base is not None else None,
        )
        try:
            self.load.start()
        except Exception as exc:  # journeys that cannot load now (checked at start-up): journaled, not fatal
            log.warning("analysis traffic cannot start: %s", exc)
            self.load = None
            return [*said, f"analysis traffic cannot start: {exc}"]
        return [*said, f"{self.load.describe()} ({due[0]})"]

    async def stop(self, reason: str) -> list[str]:
        """Stop the load now (idempotent); returns the journal line with what it sent."""
        load, self.load, self._key = self.load, None, None
        if load is None:
            return []
        await load.stop(reason)
        sent = ", ".join(f"{c['requests']} to {name} ({c['failed']} failed)" for name, c in load.counts().items())
        return [f"analysis traffic stopped: {reason}; sent {sent or 'nothing'}"]


def _targets(status: Status, instances: list[Instance]) -> dict[str, list[str]]:
    counts: dict[str, int] = {}
    for instance in instances:
        counts[instance.version] = counts.get(instance.version, 0) + 1
    out: dict[str, list[str]] = {}
    for role, version in (("canary", status.version), ("stable", status.stable)):
        if version is not None and counts.get(version) and not (role == "stable" and version == status.version):
            out[role] = backend_names(version, counts[version])
    return out


def journal(status: Status, lines: list[str], at: float) -> Status:
    """`status` with a `traffic` event per line (a new status; the input is not changed)."""
    if not lines:
        return status
    new = copy.deepcopy(status)
    new.events += [Event(at, "traffic", line) for line in lines]
    del new.events[:-MAX_EVENTS]
    return new
