"""Will the plan's VUs fit on this machine? A pure estimate, checked before any traffic (exit 2 when they do not).

Each VU holds a keep-alive connection, its parser and timings (URL mode) or a whole User with its session and
cookie jar (scenario files). Measured on the project's machine: 5.4 kB of RSS per URL-mode VU and 11.6 kB per
journey VU (`bench/seed_profile/memory.py`); the estimate takes about three times that, so a run it lets
through has room to spare, and a run it refuses would have failed with MemoryError part-way. Every VU also
needs one file descriptor per connection.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BASE_BYTES", "PER_VU_BYTES", "Capacity", "fd_problem", "format_bytes", "memory_problem"]
__pure__ = True

PER_VU_BYTES = {"url": 16 * 1024, "scenario": 32 * 1024}  # estimate per VU, by kind of target
BASE_BYTES = 128 * 1024 * 1024  # the interpreter, the libraries and the metrics of a run
FD_RESERVE = 64  # files the process keeps open besides the VUs' connections (stdio, the loop, imports)


@dataclass(frozen=True)
class Capacity:
    """What the machine offers: memory available to this process (bytes) and the open-files limits."""

    memory_bytes: int | None  # None: unknown (the check is skipped)
    fd_soft: int | None
    fd_hard: int | None


def format_bytes(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit in ("B", "KiB") else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # pragma: no cover


def memory_problem(vus: int, kind: str, capacity: Capacity) -> str | None:
    """Why `vus` VUs of `kind` ('url' or 'scenario') cannot fit in the available memory, or None."""
    if capacity.memory_bytes is None:
        return None
    per_vu = PER_VU_BYTES[kind]
    needed = BASE_BYTES + vus * per_vu
    if needed <= capacity.memory_bytes:
        return None
    return (
        f"{vus} VUs do not fit in memory: about {format_bytes(needed)} estimated "
        f"({format_bytes(per_vu)} per VU), {format_bytes(capacity.memory_bytes)} available"
    )


def fd_problem(vus: int, capacity: Capacity) -> str | None:
    """Why `vus` VUs cannot each have a connection under the hard open-files limit, or None."""
    needed = vus + FD_RESERVE
    if capacity.fd_hard is None or needed <= capacity.fd_hard:
        return None
    return (
        f"{vus} VUs need about {needed} open files (one connection each), the limit is {capacity.fd_hard} "
        "(raise it: ulimit -n, or LimitNOFILE= for a service)"
    )
