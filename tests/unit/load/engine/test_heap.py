"""Giving freed heap memory back to the OS once a minute: when it trims, and that a trim does give memory back."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import pytest

from greenflag.load.engine.heap import HeapTrim, due, malloc_trim


def test_a_trim_is_due_once_a_minute_after_the_last() -> None:
    assert not due(100.0, 159.9) and due(100.0, 160.0) and due(100.0, 300.0, every_s=120.0)


async def test_the_ticker_trims_once_a_minute_in_a_thread_and_never_two_at_once() -> None:
    now = [0.0]
    heap = HeapTrim(clock=lambda: now[0])
    release = asyncio.Event()
    loop = asyncio.get_running_loop()
    threads: list[int] = []

    def slow_trim() -> int:  # in a thread: it waits until the test lets it finish
        threads.append(threading.get_ident())
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=10)
        return 1

    heap.trim = slow_trim
    trimmed_at: list[int] = []
    for second in range(200):  # the ticker, once a second
        now[0] = float(second)
        before = heap.trims
        heap.add()
        if heap.trims > before:
            trimmed_at.append(second)
        await asyncio.sleep(0)
        if second == 150:  # the first trim has been running since 60 s: let it finish
            release.set()
            assert heap._running is not None
            await asyncio.wait_for(heap._running, 10)
    assert trimmed_at == [60, 151]  # the one due at 120 s waited for the first to finish; then a minute apart
    assert heap._running is not None and await asyncio.wait_for(heap._running, 10) == 1
    assert threading.get_ident() not in threads  # off the event loop


_FRAGMENT = """
import ctypes, sys
from greenflag.load.engine.heap import malloc_trim

def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

blocks = [bytearray(4000 + i % 3000) for i in range(40_000)]  # about 220 MB, below the mmap threshold
keep = blocks[::50]  # every 50th stays, so the heap cannot shrink from its top
del blocks
before = rss_kb()
trim = malloc_trim()
assert trim is not None
trim()
print(before, rss_kb())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or malloc_trim() is None, reason="glibc's malloc_trim")
def test_a_trim_gives_the_free_pages_inside_the_heap_back_to_the_os() -> None:
    """A process that freed most of what it allocated, with blocks still in use spread over the heap: glibc keeps
    the free memory resident until malloc_trim gives its pages back."""
    out = subprocess.run([sys.executable, "-c", _FRAGMENT], capture_output=True, text=True, timeout=60, check=True)
    before, after = (int(v) for v in out.stdout.split())
    assert before > 100_000, before  # the freed memory was still resident
    assert after < before / 2, (before, after)
