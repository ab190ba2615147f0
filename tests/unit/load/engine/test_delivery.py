"""Deltas from a worker to the coordinator: kept until acknowledged, applied once and in order — so a send that
fails, a reply that is lost or a message that comes twice loses nothing and counts nothing twice (Locust resets a
worker's statistics before sending them, and a failed send loses that interval)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from greenflag.load.engine.delivery import Inbox, Outbox


def test_a_failed_send_is_sent_again_and_counted_once() -> None:
    outbox, inbox, applied = Outbox(resend_after=2.0), Inbox(), []
    outbox.add(10)
    due = outbox.due(now=0.0)
    assert due == [(1, 10)]  # the send fails: not marked as sent
    outbox.add(20)
    for seq, payload in outbox.due(now=1.0):
        outbox.sent(seq, 1.0)
        if inbox.offer(seq):
            applied.append(payload)
    outbox.ack(inbox.acked)
    assert applied == [10, 20] and outbox.empty


def test_a_lost_acknowledgement_resends_and_the_repeat_is_not_applied() -> None:
    outbox, inbox, applied = Outbox(resend_after=2.0), Inbox(), []
    outbox.add(5)
    [(seq, payload)] = outbox.due(now=0.0)
    outbox.sent(seq, 0.0)
    assert inbox.offer(seq)
    applied.append(payload)  # applied; its acknowledgement never arrives
    assert outbox.due(now=1.0) == []  # not yet: sent 1 s ago
    [(again, _)] = outbox.due(now=2.5)
    assert again == seq and not inbox.offer(again) and inbox.duplicates == 1
    outbox.ack(inbox.acked)
    assert applied == [5] and outbox.empty


def test_a_gap_is_not_applied_until_it_is_filled() -> None:
    inbox = Inbox()
    assert inbox.offer(1)
    assert not inbox.offer(3)  # 2 was lost on the way
    assert inbox.acked == 1
    assert inbox.offer(2) and inbox.offer(3)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), loss=st.floats(0.0, 0.7), ticks=st.integers(1, 40))
def test_over_a_lossy_link_every_delta_is_applied_exactly_once(seed: int, loss: float, ticks: int) -> None:
    """Every tick the worker queues a delta and sends what is due; each send, each acknowledgement and each
    delivery may be lost or arrive twice. After the link heals, the coordinator has applied every delta once."""
    rng = random.Random(seed)
    outbox, inbox = Outbox(resend_after=2.0), Inbox()
    applied: list[int] = []
    now = 0.0
    for tick in range(ticks + 60):
        healed = tick >= ticks
        now += 1.0
        if tick < ticks:
            outbox.add(tick)
        for seq, payload in outbox.due(now):
            if not healed and rng.random() < loss:
                continue  # the send failed: not marked
            outbox.sent(seq, now)
            for _ in range(2 if rng.random() < 0.2 else 1):  # delivered, maybe twice
                if not healed and rng.random() < loss:
                    continue
                if inbox.offer(seq):
                    applied.append(payload)
            if healed or rng.random() >= loss:
                outbox.ack(inbox.acked)  # the acknowledgement came back
    assert applied == list(range(ticks))
    assert outbox.empty
