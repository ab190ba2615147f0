"""Windows from a balancer's cumulative counters (HAProxy's `show stat`): samples in, per-backend deltas out. Pure.

HAProxy counts per server since it started; a window is the difference between the counters now and a sample taken
at or before the window's start. Samples are kept per (backend name, slot): when a slot is pointed at another
version its older samples belong to the previous version, so the new one's windows start at the first sample taken
under its name (the driver samples right after pointing a slot). A window therefore covers at most what this
process has sampled: asked for 60 s with samples going back 20 s, it is 20 s long and says so in `window_s`.
Counters that went down (HAProxy reloaded, `clear counters`) start again from zero.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, fields

from greenflag.traffic.base import BackendWindow

__all__ = ["KEEP_S", "CounterHistory", "Counters", "counters_from_stat"]
__pure__ = True

KEEP_S = 300.0
MIN_GAP_S = 0.1  # samples closer than this to the previous one are not kept (bounded memory)
CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


@dataclass(frozen=True)
class Counters:
    """One server's cumulative counters."""

    r1xx: int = 0
    r2xx: int = 0
    r3xx: int = 0
    r4xx: int = 0
    r5xx: int = 0
    failed: int = 0  # responses that never came (HAProxy's eresp: the server closed or sent garbage)

    def minus(self, other: Counters) -> Counters:
        values = [getattr(self, f.name) - getattr(other, f.name) for f in fields(self)]
        if any(v < 0 for v in values):  # the counters were reset since `other`
            return self
        return Counters(*values)

    def window(self, name: str, window_s: float) -> BackendWindow:
        counts = (self.r1xx, self.r2xx, self.r3xx, self.r4xx, self.r5xx)
        responses = {cls: n for cls, n in zip(CLASSES, counts, strict=True) if n}
        return BackendWindow(name, window_s, sum(counts) + self.failed, responses, self.failed)


def _int(row: dict[str, str], key: str) -> int:
    value = row.get(key, "")
    return int(value) if value.isdigit() else 0


def counters_from_stat(row: dict[str, str]) -> Counters:
    """A `show stat` server row → Counters."""
    r1, r2, r3, r4, r5 = (_int(row, f"hrsp_{cls}") for cls in CLASSES)
    return Counters(r1, r2, r3, r4, r5, failed=_int(row, "eresp"))


Sample = tuple[float, dict[str, tuple[str, Counters]]]  # time, name → (slot, counters)


class CounterHistory:
    """Samples of every backend's counters over the last `KEEP_S` seconds (plus one older, the base of the
    longest window). Times are the caller's monotonic seconds."""

    def __init__(self) -> None:
        self._samples: deque[Sample] = deque()

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, now: float, counters: dict[str, tuple[str, Counters]], *, force: bool = False) -> None:
        """Keep a sample (skipped when the previous one is under MIN_GAP_S old, unless `force`: a slot moved)."""
        if self._samples and not force and now - self._samples[-1][0] < MIN_GAP_S:
            return
        self._samples.append((now, dict(counters)))
        while len(self._samples) > 1 and self._samples[1][0] <= now - KEEP_S:
            self._samples.popleft()

    def windows(
        self, now: float, current: dict[str, tuple[str, Counters]], window_s: float
    ) -> dict[str, BackendWindow]:
        """Each backend's window ending `now` with `current` counters: since the newest sample at or before
        now - window_s that has the backend on the same slot (else its oldest such sample; else empty)."""
        out: dict[str, BackendWindow] = {}
        start = now - window_s
        for name, (slot, counters) in current.items():
            base: Sample | None = None
            for sample in self._samples:
                held = sample[1].get(name)
                if held is None or held[0] != slot:
                    base = None  # the slot carried something else in between: start after it
                    continue
                if base is None or sample[0] <= start:
                    base = sample
            if base is None:
                out[name] = BackendWindow(name, 0.0)
                continue
            span = max(0.0, now - base[0])
            out[name] = counters.minus(base[1][name][1]).window(name, span)
        return out
