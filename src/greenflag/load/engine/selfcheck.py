"""Generator self-check: is the load generator itself the bottleneck? Measures event-loop lag and own CPU; and,
before a run, what the machine offers (`machine_capacity`: memory available, open-files limits)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from greenflag.hdr import Histogram
from greenflag.load.engine.capacity import Capacity

__all__ = ["SelfCheck", "machine_capacity", "raise_fd_limit", "saturated"]


def _meminfo_available() -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    with contextlib.suppress(OSError, ValueError, AttributeError):  # not Linux: physical memory as a bound
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return None


def _cgroup_room() -> int | None:
    """Memory left under this process's cgroup limit (v2 memory.max, v1 memory.limit_in_bytes), if any."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            base = Path("/sys/fs/cgroup") / path.lstrip("/")
            if controllers == "":  # v2
                limit, usage = base / "memory.max", base / "memory.current"
            elif "memory" in controllers.split(","):
                base = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
                limit, usage = base / "memory.limit_in_bytes", base / "memory.usage_in_bytes"
            else:
                continue
            text = limit.read_text().strip()
            if text == "max" or int(text) >= 1 << 60:
                return None
            return max(0, int(text) - int(usage.read_text().strip()))
    return None


def machine_capacity() -> Capacity:
    import resource

    rooms = [room for room in (_meminfo_available(), _cgroup_room()) if room is not None]
    address_space = resource.getrlimit(resource.RLIMIT_AS)[0]
    if address_space != resource.RLIM_INFINITY:
        rooms.append(address_space)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return Capacity(
        memory_bytes=min(rooms) if rooms else None,
        fd_soft=None if soft == resource.RLIM_INFINITY else soft,
        fd_hard=None if hard == resource.RLIM_INFINITY else hard,
    )


def raise_fd_limit(needed: int) -> None:
    """Raise the soft open-files limit towards `needed` (never above the hard limit), as `ulimit -n` would."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


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
