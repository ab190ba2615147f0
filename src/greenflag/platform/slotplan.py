"""Which slot a version goes to (pure): the journaled state of each slot and the choice of the idle one.

A slot is `deploying` a version, `ready` with it (the deploy succeeded), or `idle`. A version is deployed only onto
an idle slot — never onto one that holds a version still in the release, which is the one carrying traffic or the
one under test. Among idle slots the one that last held the same version goes first (a relaunch, or a serving
version restarted, lands where it was), then the one idle for longest, then the first in the spec's order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["DEPLOYING", "IDLE", "READY", "NoIdleSlot", "SlotState", "choose_slot", "holding"]
__pure__ = True

DEPLOYING, READY, IDLE = "deploying", "ready", "idle"


class NoIdleSlot(ValueError):
    """Every slot holds a version of the release; the message says which."""


@dataclass(frozen=True)
class SlotState:
    slot: str
    state: str = IDLE
    version: str | None = None  # deploying/ready: the version; idle: the last one it held (None: never used)
    pid: int | None = None  # the deploy command's wrapper (while deploying; None before it was spawned)
    started: float | None = None  # when the deploy started (Unix seconds)
    changed: float = 0.0  # when the slot last changed state (Unix seconds)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SlotState:
        known = {k: data[k] for k in ("slot", "state", "version", "pid", "started", "changed") if k in data}
        return cls(**known)

    @property
    def busy(self) -> bool:
        return self.state in (DEPLOYING, READY)

    def describe(self) -> str:
        if self.state == IDLE:
            return f"{self.slot} is idle" + (f" (last held {self.version})" if self.version else "")
        return f"{self.slot} holds {self.version} ({self.state})"


def holding(version: str, states: Mapping[str, SlotState]) -> SlotState | None:
    """The slot that holds (or is being deployed) `version`, if any."""
    return next((s for s in states.values() if s.busy and s.version == version), None)


def choose_slot(version: str, order: Sequence[str], states: Mapping[str, SlotState]) -> str:
    """The slot `version` is (to be) deployed onto. NoIdleSlot when every slot holds another version."""
    held = holding(version, states)
    if held is not None:
        return held.slot
    current = [states.get(name) or SlotState(name) for name in order]
    idle = [s for s in current if not s.busy]
    if not idle:
        taken = "; ".join(s.describe() for s in current)
        raise NoIdleSlot(f"no idle slot to deploy {version} onto: {taken}; stop a version first")
    same = [s for s in idle if s.version == version]
    if same:
        return same[0].slot
    return min(idle, key=lambda s: (s.changed, order.index(s.slot))).slot
