"""Giving the heap memory a long run has freed back to the operating system, once a minute.

glibc's malloc keeps what a process frees for its next allocations and returns to the OS only what is freed at the
top of the heap. A load run allocates and frees arrays of every size each second (the histograms' folds, the time
series' intervals), so free memory collects between blocks still in use, and the process's resident memory creeps
up although nothing it holds grows. `malloc_trim(0)` hands the free pages inside the heap back to the OS (their
addresses stay reserved, at no cost); it takes a few milliseconds and runs in a thread, off the event loop. Where the
C library has no `malloc_trim` (musl, macOS), nothing is done.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import time
from collections.abc import Callable

__all__ = ["TRIM_EVERY_S", "HeapTrim", "due", "malloc_trim"]

TRIM_EVERY_S = 60.0


def malloc_trim() -> Callable[[], int] | None:
    """The C library's `malloc_trim(0)`, or None where it has none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: int(trim(0))


def due(last: float, now: float, every_s: float = TRIM_EVERY_S) -> bool:
    """Whether to trim again, `every_s` seconds after the last trim (or the run's first second)."""
    return now - last >= every_s


class HeapTrim:
    """A sink of the run's once-a-second ticker (`add`, `flush`): trims once a minute (`due`), never two at once."""

    def __init__(self, every_s: float = TRIM_EVERY_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self.clock = clock
        self.trim = malloc_trim()
        self.last: float | None = None
        self.trims = 0
        self._running: asyncio.Future[int] | None = None

    def add(self) -> None:
        now = self.clock()
        if self.last is None:
            self.last = now
            return
        if self.trim is None or not due(self.last, now, self.every_s):
            return
        if self._running is not None and not self._running.done():
            return
        self.last = now
        self.trims += 1
        self._running = asyncio.ensure_future(asyncio.to_thread(self.trim))

    def flush(self) -> None:
        """Nothing to write at the end of a run."""
