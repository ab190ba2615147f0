"""Faults for drills and rollout tests. Every fault has `inject()` and an idempotent `revert()`; used with
`async with`, revert runs in `finally` — also when the body raises, and when inject failed halfway.

- `Kill(pid)`: SIGKILL (revert: nothing to undo).
- `Freeze(pid, seconds=N)`: SIGSTOP, SIGCONT after N s or on revert.
- `BackendFault(admin_url, token, "green", latency=0.5, error_rate=0.2, reset_rate=0.0)`: a slow, failing or
  resetting backend behind the embedded router, through a `FaultProxy` the fault re-points the backend to.
- `RemoveBackend(admin_url, token, "green")`: out of the router's set; revert restores it and its weight.
- `FillDisk(size=16 MiB)`: a dedicated tmpfs filled to ENOSPC (root), or `path=` a dedicated small filesystem.
"""

from greenflag.dr.faults.backend import BackendFault, RemoveBackend
from greenflag.dr.faults.base import Fault, FaultBase, FaultError
from greenflag.dr.faults.disk import FillDisk
from greenflag.dr.faults.process import Freeze, Kill
from greenflag.dr.faults.proxy import FaultProxy

__all__ = [
    "BackendFault",
    "Fault",
    "FaultBase",
    "FaultError",
    "FaultProxy",
    "FillDisk",
    "Freeze",
    "Kill",
    "RemoveBackend",
]
