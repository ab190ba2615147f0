"""What the pure core asks the controller to do. Plain data; every action is idempotent."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DATA_ACTIONS",
    "Action",
    "DataAction",
    "Invalidate",
    "LaunchVersion",
    "Notify",
    "RunChecklist",
    "RunGuard",
    "RunHook",
    "RunMigration",
    "SetBackends",
    "SetHeaderRoute",
    "SetWeights",
    "StopChecklist",
    "StopHook",
    "StopVersion",
    "WaitReady",
]
__pure__ = True


@dataclass(frozen=True)
class LaunchVersion:
    version: str  # start its instances (already running ones are kept)


@dataclass(frozen=True)
class WaitReady:
    version: str  # probe the version's readiness gate this tick


@dataclass(frozen=True)
class SetBackends:
    versions: tuple[str, ...]  # the versions the router knows (URLs come from the platform)


@dataclass(frozen=True)
class SetWeights:
    weights: tuple[tuple[str, int], ...]  # (version, weight) pairs

    @property
    def as_dict(self) -> dict[str, int]:
        return dict(self.weights)


@dataclass(frozen=True)
class SetHeaderRoute:
    version: str | None  # test traffic (route header) → this version; None removes the route


@dataclass(frozen=True)
class RunHook:
    key: str  # "before_allow_traffic[0]" — journaled started/finished under this key
    lifecycle: str
    command: str
    timeout_s: float


@dataclass(frozen=True)
class StopHook:
    key: str  # a forward hook still running when the rollout rolls back: stop its process group, journal it
    reason: str


@dataclass(frozen=True)
class StopVersion:
    version: str
    grace_s: float


@dataclass(frozen=True)
class Notify:
    event: str  # rollout_started, rollout_paused, rollout_completed, rollout_aborted, rollout_rolled_back
    message: str


@dataclass(frozen=True)
class RunMigration:
    key: str  # the stage it belongs to (migrate_up, migration_check, migrate_down, migration_check_down)
    command: str  # up | down | check
    argv: tuple[str, ...]  # run without a shell; values reach it through the environment only
    timeout_s: float
    after: str | None = None  # for check: the command it verifies (up | down)


@dataclass(frozen=True)
class RunGuard:
    key: str  # migration_baseline (before up) | migration_guard (after up)
    version: str  # whose instances the guard's checks probe: the stable version


@dataclass(frozen=True)
class Invalidate:
    key: str  # cdn_promote | cdn_rollback: every configured purge and CloudFront invalidation, once more is harmless


@dataclass(frozen=True)
class RunChecklist:
    """Run the readiness checklist once for this rollout (asked each tick while it runs; starting is idempotent)."""


@dataclass(frozen=True)
class StopChecklist:
    reason: str  # the rollout rolls back while the checklist runs: cancel it, journal it cancelled


DataAction = RunMigration | RunGuard | Invalidate
DATA_ACTIONS = (RunMigration, RunGuard, Invalidate)  # carried out by greenflag.data (see data/runner.py)

Action = (
    LaunchVersion
    | WaitReady
    | SetBackends
    | SetWeights
    | SetHeaderRoute
    | RunHook
    | StopHook
    | StopVersion
    | Notify
    | DataAction
    | RunChecklist
    | StopChecklist
)
