"""The controller's one door to the data steps: it hands over RunMigration, RunGuard and Invalidate actions and
reads back the state of every data stage of a rollout, as `Observations.data_steps`."""

from __future__ import annotations

import time
from collections.abc import Callable

from greenflag.data.cdn import CdnRunner
from greenflag.data.guard import GuardRunner
from greenflag.data.migrations import MigrationRunner
from greenflag.health.base import Probe
from greenflag.health.probes import make_probe
from greenflag.platform.base import Instance
from greenflag.rollout.actions import DataAction, Invalidate, RunGuard, RunMigration
from greenflag.rollout.model import HookState, Status
from greenflag.rollout.store import Store
from greenflag.spec import ProbeSpec, Spec

__all__ = ["DataRunner"]


class DataRunner:
    def __init__(
        self,
        spec: Spec,
        store: Store,
        probes: Callable[[ProbeSpec], Probe] = make_probe,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        migrations = spec.migrations
        self.migrations = MigrationRunner(spec, store) if migrations is not None else None
        guard = migrations.guard if migrations is not None else None
        self.guard = GuardRunner(guard, probes) if guard is not None else None
        self.cdn = CdnRunner(spec.cdn) if spec.cdn is not None else None
        self.monotonic = monotonic

    async def act(self, status: Status, action: DataAction, instances: list[Instance]) -> None:
        if isinstance(action, RunMigration) and self.migrations is not None:
            self.migrations.start(status, action)
        elif isinstance(action, RunGuard) and self.guard is not None:
            await self.guard.run(status, action, instances, self.monotonic())
        elif isinstance(action, Invalidate) and self.cdn is not None:
            self.cdn.start(status, action)

    def states(self, status: Status) -> dict[str, HookState]:
        """Every data stage's state: migrations from the journal, the guard and invalidations from this process."""
        out: dict[str, HookState] = {}
        for runner in (self.migrations, self.guard, self.cdn):
            if runner is not None:
                out.update(runner.states(status))
        return out

    async def aclose(self) -> None:
        if self.migrations is not None:
            await self.migrations.aclose()
        if self.cdn is not None:
            await self.cdn.aclose()
