"""Generator self-check: is the load generator itself the bottleneck? Measures event-loop lag and own CPU."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from greenflag.hdr import Histogram

__all__ = ["SelfCheck", "saturated"]

_INTERVAL = 0.1


def saturated(cpu_fraction: float, loop_lag_p99_ms: float, dispatch_lag_p99_ms: float | None) -> bool:
    """The generator was the bottleneck when it used (nearly) a whole core, its event loop fell behind, or
    open-model iterations started late (pure rule; thresholds documented in docs/load-testing.md)."""
    if cpu_fraction >= 0.90 or loop_lag_p99_ms >= 50.0:
        return True
    return dispatch_lag_p99_ms is not None and dispatch_lag_p99_ms >= 20.0


class SelfCheck:
    def __init__(self) -> None:
        self.lag = Histogram()
        self._cpu0 = time.process_time()
        self._wall0 = time.perf_counter()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._cpu0 = time.process_time()
        self._wall0 = time.perf_counter()
        self._task = asyncio.ensure_future(self._monitor())

    async def _monitor(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(_INTERVAL)
            self.lag.record(int(max(0.0, time.perf_counter() - t0 - _INTERVAL) * 1e6))

    def cpu_fraction(self) -> float:
        wall = time.perf_counter() - self._wall0
        return (time.process_time() - self._cpu0) / wall if wall > 0 else 0.0

    async def stop(self, dispatch_lag: Histogram | None) -> dict[str, Any]:
        if self._task is not None:
            self._task.cancel()
        cpu = self.cpu_fraction()
        lag_p99 = self.lag.percentile(99) / 1000.0
        dispatch_p99 = dispatch_lag.percentile(99) / 1000.0 if dispatch_lag is not None and dispatch_lag.count else None
        return {
            "cpu_fraction": round(cpu, 3),
            "loop_lag_p99_ms": round(lag_p99, 3),
            "dispatch_lag_p99_ms": None if dispatch_p99 is None else round(dispatch_p99, 3),
            "saturated": saturated(cpu, lag_p99, dispatch_p99),
        }
