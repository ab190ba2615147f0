"""The phase table (pure): transitions it lists, and refusal of the rest."""

from __future__ import annotations

import pytest

from greenflag.rollout.model import Phase
from greenflag.rollout.phases import TRANSITIONS, PhaseEvent, transition


@pytest.mark.parametrize(
    ("phase", "event", "expected"),
    [
        (Phase.HEALTHY, PhaseEvent.START, Phase.PROGRESSING),
        (Phase.PROGRESSING, PhaseEvent.PAUSE, Phase.PAUSED),
        (Phase.PAUSED, PhaseEvent.RESUME, Phase.PROGRESSING),
        (Phase.PAUSED, PhaseEvent.PROMOTED, Phase.HEALTHY),
        (Phase.PROGRESSING, PhaseEvent.ABORT, Phase.DEGRADED),
        (Phase.DEGRADED, PhaseEvent.ROLLED_BACK, Phase.ROLLED_BACK),
        (Phase.ROLLED_BACK, PhaseEvent.START, Phase.PROGRESSING),
    ],
)
def test_phase_table(phase: Phase, event: PhaseEvent, expected: Phase) -> None:
    assert transition(phase, event) is expected


def test_phase_table_refuses_what_it_does_not_list() -> None:
    with pytest.raises(ValueError, match="no transition"):
        transition(Phase.HEALTHY, PhaseEvent.ABORT)
    with pytest.raises(ValueError):
        transition(Phase.ROLLED_BACK, PhaseEvent.PROMOTED)
    assert all(isinstance(k[0], Phase) for k in TRANSITIONS)
