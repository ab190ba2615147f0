"""Which slot a version is deployed onto: never one that holds a version of the release."""

from __future__ import annotations

import pytest

from greenflag.platform.slotplan import DEPLOYING, IDLE, READY, NoIdleSlot, SlotState, choose_slot, holding

ORDER = ["blue", "green"]


def states(*items: SlotState) -> dict[str, SlotState]:
    return {s.slot: s for s in items}


def test_a_first_version_goes_to_the_first_slot() -> None:
    assert choose_slot("v1", ORDER, {}) == "blue"


def test_the_next_version_goes_to_the_idle_slot_never_the_serving_one() -> None:
    serving = states(SlotState("blue", READY, "v1", changed=5.0), SlotState("green", IDLE, None))
    assert choose_slot("v2", ORDER, serving) == "green"
    deploying = states(SlotState("blue", IDLE, "v0", changed=1.0), SlotState("green", DEPLOYING, "v1", pid=7))
    assert choose_slot("v2", ORDER, deploying) == "blue"


def test_a_version_already_held_keeps_its_slot() -> None:
    current = states(SlotState("blue", READY, "v1"), SlotState("green", DEPLOYING, "v2"))
    assert choose_slot("v2", ORDER, current) == "green"
    assert holding("v1", current) == current["blue"]
    assert holding("v3", current) is None


def test_every_slot_busy_is_refused_naming_them() -> None:
    current = states(SlotState("blue", READY, "v1"), SlotState("green", DEPLOYING, "v2"))
    with pytest.raises(NoIdleSlot) as info:
        choose_slot("v3", ORDER, current)
    assert str(info.value) == (
        "no idle slot to deploy v3 onto: blue holds v1 (ready); green holds v2 (deploying); stop a version first"
    )


def test_an_idle_slot_that_last_held_the_version_is_preferred() -> None:
    """A relaunch after a failed deploy, or a serving version restarted, lands where it was."""
    current = states(SlotState("blue", IDLE, "v1", changed=1.0), SlotState("green", IDLE, "v2", changed=9.0))
    assert choose_slot("v2", ORDER, current) == "green"


def test_otherwise_the_slot_idle_longest_goes_first() -> None:
    three = ["blue", "green", "red"]
    current = states(SlotState("blue", READY, "v3", changed=9.0), SlotState("green", IDLE, "v2", changed=8.0),
                     SlotState("red", IDLE, "v1", changed=4.0))  # fmt: skip
    assert choose_slot("v4", three, current) == "red"  # green keeps v2, the last stable, the longest


def test_a_state_round_trips_through_the_journal() -> None:
    state = SlotState("green", DEPLOYING, "v2", 4242, 100.5, 100.5)
    assert SlotState.from_json(state.to_json()) == state
    assert SlotState.from_json({"slot": "blue", "state": "idle", "unknown": 1}) == SlotState("blue")
