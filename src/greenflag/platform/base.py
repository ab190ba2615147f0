"""The Platform seam (DESIGN.md §3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Instance", "Platform"]


@dataclass(frozen=True)
class Instance:
    version: str
    id: str  # stable across controller restarts (e.g. "v2-0")
    url: str  # base URL, e.g. http://127.0.0.1:41234
    pid: int | None = None


@runtime_checkable
class Platform(Protocol):
    async def launch(self, version: str) -> list[Instance]:
        """Start the version's instances (idempotent: already-running instances are returned)."""
        ...

    async def stop(self, version: str, *, grace_s: float) -> None:
        """Stop a version's instances: SIGTERM, then SIGKILL after grace_s. Idempotent."""
        ...

    async def instances(self) -> list[Instance]: ...
