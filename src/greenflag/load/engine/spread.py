"""How many workers a run gets (`--workers N|auto`, `--backend`, `--address`, `--on-worker-failure`), checked before
any traffic: `auto` is the cores this process may use (`os.sched_getaffinity`), or the Ray cluster's CPUs; a
plan with fewer VUs than workers runs on as many workers as it has VUs (each needs one of its own)."""

from __future__ import annotations

import importlib
import os
from typing import Any, Literal

from greenflag.errors import UsageError
from greenflag.load.engine import schedules as sch
from greenflag.load.engine.backends import BACKEND_LINKS
from greenflag.load.engine.runconfig import BACKENDS, FAILURE_POLICIES, ScenarioRun

__all__ = ["check_options", "usable_cores", "worker_count"]


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def check_options(workers: int | str, backend: str, address: str | None, on_failure: str) -> None:
    """Exit 2 (UsageError) for values that cannot work, naming the option."""
    if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UsageError(f"--workers {workers!r}: expected a number of workers ≥ 1, or auto (every usable core)")
    if backend not in BACKENDS:
        raise UsageError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if address is not None and backend != "ray":
        raise UsageError("--address: only with --backend ray (the Ray cluster to run the workers on)")
    if address is not None and address != "auto" and not address.startswith("ray://"):
        raise UsageError(f"--address {address!r}: expected auto or ray://HOST:PORT (a Ray cluster's client address)")
    if on_failure not in FAILURE_POLICIES:
        raise UsageError(f"--on-worker-failure {on_failure!r}: expected one of {', '.join(FAILURE_POLICIES)}")


def _ray_cpus(address: str | None, ship_dir: str | None) -> int:
    module = importlib.import_module(BACKEND_LINKS["ray"].partition(":")[0])
    cpus: Any = module.cluster_cpus(address, ship_dir)
    return int(cpus)


def worker_count(
    workers: int | Literal["auto"], backend: str, runs: list[ScenarioRun], *, address: str | None, ship_dir: str | None
) -> tuple[int, list[str]]:
    """(workers to start, notes for the plan line)."""
    notes: list[str] = []
    wanted = workers
    if wanted == "auto":
        wanted = _ray_cpus(address, ship_dir) if backend == "ray" else usable_cores()
        notes.append(f"auto: {wanted} {'CPUs in the Ray cluster' if backend == 'ray' else 'usable cores'}")
    used = max(sch.participants(run.plan, wanted) for run in runs)
    if used < wanted:
        notes.append(f"{used} of {wanted} workers used: each needs a VU of its own")
    return used, notes
