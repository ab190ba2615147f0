"""Rollout phase transitions, in ONE table (like h11's state machine): the documented diagram is this table.

Progressing --pause--> Paused --resume--> Progressing
Progressing|Paused --promoted--> Healthy
Progressing|Paused --abort--> Degraded --rolled_back--> RolledBack
Healthy|RolledBack --start--> Progressing      (a new rollout)
"""

from __future__ import annotations

import enum

from greenflag.rollout.model import Phase

__all__ = ["TRANSITIONS", "PhaseEvent", "transition"]
__pure__ = True


class PhaseEvent(enum.StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    PROMOTED = "promoted"
    ABORT = "abort"
    ROLLED_BACK = "rolled_back"


TRANSITIONS: dict[tuple[Phase, PhaseEvent], Phase] = {
    (Phase.HEALTHY, PhaseEvent.START): Phase.PROGRESSING,
    (Phase.ROLLED_BACK, PhaseEvent.START): Phase.PROGRESSING,
    (Phase.PROGRESSING, PhaseEvent.PAUSE): Phase.PAUSED,
    (Phase.PAUSED, PhaseEvent.PAUSE): Phase.PAUSED,
    (Phase.PAUSED, PhaseEvent.RESUME): Phase.PROGRESSING,
    (Phase.PROGRESSING, PhaseEvent.RESUME): Phase.PROGRESSING,
    (Phase.PROGRESSING, PhaseEvent.PROMOTED): Phase.HEALTHY,
    (Phase.PAUSED, PhaseEvent.PROMOTED): Phase.HEALTHY,
    (Phase.PROGRESSING, PhaseEvent.ABORT): Phase.DEGRADED,
    (Phase.PAUSED, PhaseEvent.ABORT): Phase.DEGRADED,
    (Phase.DEGRADED, PhaseEvent.ABORT): Phase.DEGRADED,
    (Phase.DEGRADED, PhaseEvent.ROLLED_BACK): Phase.ROLLED_BACK,
}


def transition(phase: Phase, event: PhaseEvent) -> Phase:
    """The phase after `event`; ValueError when the table has no such transition."""
    try:
        return TRANSITIONS[(phase, event)]
    except KeyError:
        raise ValueError(f"no transition from {phase} on {event}") from None
