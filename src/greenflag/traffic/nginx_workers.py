"""nginx's worker generations, read from /proc (same host): which workers still accept connections.

After `nginx -s reload` the master starts new workers, sleeps about 100 ms, then tells the old ones to shut down;
until they do, both generations accept new connections. An old worker that got the signal closes its listeners and
renames itself `nginx: worker process is shutting down` while it finishes its open requests: from then on only the
new generation takes new requests.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

__all__ = ["accepting", "master_pid", "workers"]

PROC = Path("/proc")


def master_pid(pid_file: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(pid_file.read_text().strip())
    return None


def workers(master: int) -> set[int] | None:
    """The worker processes of `master` (None when /proc cannot say)."""
    if not (PROC / str(master)).exists():
        return None
    out: set[int] = set()
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            if int(stat[stat.rfind(")") + 2 :].split()[1]) == master:
                out.add(int(entry.name))
    return out


def accepting(pids: set[int]) -> set[int]:
    """Those of `pids` still running as workers that accept: not exited, not `is shutting down`."""
    out: set[int] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            title = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (PROC / str(pid) / "stat").read_text()
            if "worker process" in title and "shutting down" not in title and stat[stat.rfind(")") + 2] != "Z":
                out.add(pid)
    return out
