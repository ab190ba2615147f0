"""The heartbeat writer's ledger: which writes the database acknowledged, and which were in flight at the fault."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

__all__ = ["Ledger", "pace"]


@dataclass
class Ledger:
    acknowledged: list[int] = field(default_factory=list)  # sequence numbers, in commit order
    ack_times: list[float] = field(default_factory=list)  # wall time (epoch seconds) each commit returned
    in_doubt: list[int] = field(default_factory=list)  # sent, no answer (the fault struck mid-commit)
    started: float | None = None  # monotonic, first write sent
    stopped: float | None = None  # monotonic, writer stopped
    error: str | None = None  # why the writer stopped

    def rate(self) -> float:
        if self.started is None or self.stopped is None or self.stopped <= self.started:
            return 0.0
        return len(self.acknowledged) / (self.stopped - self.started)

    def last_ack_at(self) -> str | None:
        if not self.ack_times:
            return None
        when = dt.datetime.fromtimestamp(self.ack_times[-1], dt.UTC)
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def summary(self, target_rate: float) -> dict[str, object]:
        return {
            "writes_acknowledged": len(self.acknowledged),
            "writes_in_doubt": len(self.in_doubt),
            "rate_per_s": round(self.rate(), 1),
            "target_rate_per_s": target_rate,
            "last_acknowledged_seq": self.acknowledged[-1] if self.acknowledged else None,
            "last_acknowledged_at": self.last_ack_at(),
            "stopped_by": self.error,
        }


def pace(start: float, sent: int, rate: float, now: float) -> float:
    """Seconds to wait before the next write of an open-loop writer at `rate`/s (0 when behind schedule)."""
    return max(0.0, start + sent / rate - now)
