"""The estimate that refuses VUs which cannot fit, before any traffic (pure)."""

from __future__ import annotations

from greenflag.load.engine.capacity import BASE_BYTES, PER_VU_BYTES, Capacity, fd_problem, memory_problem

ROOMY = Capacity(memory_bytes=16 * 1024**3, fd_soft=1024, fd_hard=1_048_576)


def test_memory() -> None:
    assert memory_problem(100_000, "url", ROOMY) is None  # 1.6 GiB estimated
    assert memory_problem(10**9, "url", ROOMY) == (
        "1000000000 VUs do not fit in memory: about 14.9 TiB estimated (16 KiB per VU), 16.0 GiB available"
    )
    fits = (16 * 1024**3 - BASE_BYTES) // PER_VU_BYTES["scenario"]
    assert memory_problem(fits, "scenario", ROOMY) is None
    assert memory_problem(fits + 1, "scenario", ROOMY) is not None
    assert memory_problem(10**12, "url", Capacity(None, None, None)) is None  # unknown: not checked


def test_open_files() -> None:
    assert fd_problem(1_000_000, ROOMY) is None  # the soft limit is raised to what is needed, up to the hard one
    assert fd_problem(2_000_000, ROOMY) == (
        "2000000 VUs need about 2000064 open files (one connection each), the limit is 1048576 "
        "(raise it: ulimit -n, or LimitNOFILE= for a service)"
    )
    assert fd_problem(10**9, Capacity(None, None, None)) is None
