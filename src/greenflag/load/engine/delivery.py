"""Delivery of a worker's metric deltas to the coordinator: numbered, kept until acknowledged, applied once (pure).

Locust resets a worker's statistics before it sends them, so a failed send loses that interval. Here a delta taken
from the worker's registry goes into the `Outbox` with the next sequence number and stays there until the
coordinator has acknowledged it: a send that fails, or a reply that is lost, only means it is sent again. The
coordinator's `Inbox` applies each number once and in order (a repeat or a gap is not applied) and acknowledges
the highest number applied so far, which covers every earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Inbox", "Outbox"]
__pure__ = True

RESEND_AFTER_S = 2.0  # a delta not acknowledged this long after it was sent is sent again


@dataclass
class _Entry:
    seq: int
    payload: Any
    sent_at: float | None = None  # None: never sent (or the send failed)


@dataclass
class Outbox:
    """A worker's deltas not yet acknowledged, oldest first."""

    resend_after: float = RESEND_AFTER_S
    entries: list[_Entry] = field(default_factory=list)
    last_seq: int = 0
    acked: int = 0

    def add(self, payload: Any) -> int:
        self.last_seq += 1
        self.entries.append(_Entry(self.last_seq, payload))
        return self.last_seq

    def due(self, now: float) -> list[tuple[int, Any]]:
        """What to send now: every entry never sent, or sent `resend_after` ago without an acknowledgement; the
        caller calls `sent(seq, now)` for each one that left."""
        return [(e.seq, e.payload) for e in self.entries if e.sent_at is None or now - e.sent_at >= self.resend_after]

    def sent(self, seq: int, now: float) -> None:
        for entry in self.entries:
            if entry.seq == seq:
                entry.sent_at = now

    def unacked(self) -> list[tuple[int, Any]]:
        return [(e.seq, e.payload) for e in self.entries]

    def ack(self, seq: int) -> None:
        """The coordinator has applied everything up to `seq`: those deltas may go."""
        if seq > self.acked:
            self.acked = seq
            self.entries = [e for e in self.entries if e.seq > seq]

    @property
    def empty(self) -> bool:
        return not self.entries


@dataclass
class Inbox:
    """The coordinator's side for one worker: `offer(seq)` says whether to apply a delta (the next one in order);
    `acked` is what to acknowledge."""

    acked: int = 0
    duplicates: int = 0

    def offer(self, seq: int) -> bool:
        if seq == self.acked + 1:
            self.acked = seq
            return True
        if seq <= self.acked:
            self.duplicates += 1
        return False
