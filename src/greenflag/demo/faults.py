"""Fault injection for release testing: what to do to one request, decided from the options and the time.

Pure apart from the injected random source, so the decisions are unit-tested without a server.
"""

from __future__ import annotations

import dataclasses
import random

from greenflag.demo.options import AppOptions

__all__ = ["FaultDecision", "Faults"]


@dataclasses.dataclass(frozen=True, slots=True)
class FaultDecision:
    delay_s: float = 0.0
    fail: bool = False


NO_FAULT = FaultDecision()


class Faults:
    """`--error-rate`, `--latency-ms`, `--latency-jitter-ms`, `--faults-after-s` and `--crash-after`.

    Latency is `latency_ms ± uniform(jitter)`, never below zero. Error-rate and latency faults start
    `faults_after_s` seconds after start-up completed; `crash_after` counts every request it is asked about.
    """

    __slots__ = (
        "_after_s",
        "_base_s",
        "_crash_after",
        "_error_rate",
        "_jitter_s",
        "_rng",
        "active",
        "counting",
        "served",
    )

    def __init__(self, options: AppOptions, rng: random.Random | None = None) -> None:
        self._error_rate = options.error_rate
        self._base_s = options.latency_ms / 1000.0
        self._jitter_s = options.latency_jitter_ms / 1000.0
        self._after_s = options.faults_after_s
        self._crash_after = options.crash_after
        self.active = self._error_rate > 0 or self._base_s > 0 or self._jitter_s > 0  # False: decide() is a no-op
        self.counting = self._crash_after is not None  # False: count_request() is a no-op
        self._rng = rng or random.Random()
        self.served = 0

    def decide(self, since_started_s: float | None) -> FaultDecision:
        """The faults for one request; `since_started_s` is None while start-up work is still running."""
        if not self.active or since_started_s is None or since_started_s < self._after_s:
            return NO_FAULT
        delay = self._base_s
        if self._jitter_s > 0:
            delay = max(0.0, delay + self._rng.uniform(-self._jitter_s, self._jitter_s))
        fail = self._error_rate > 0 and self._rng.random() < self._error_rate
        return FaultDecision(delay, fail)

    def count_request(self) -> bool:
        """Count one request; True when it is past `--crash-after` and the process must crash now."""
        self.served += 1
        return self._crash_after is not None and self.served > self._crash_after
