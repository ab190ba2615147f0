"""What the pure core asks the controller to do. Plain data; every action is idempotent."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Action",
    "LaunchVersion",
    "Notify",
    "RunHook",
    "SetBackends",
    "SetHeaderRoute",
    "SetWeights",
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


Action = (
    LaunchVersion | WaitReady | SetBackends | SetWeights | SetHeaderRoute | RunHook | StopHook | StopVersion | Notify
)
