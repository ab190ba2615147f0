"""The Platform seam: where a version runs (`launch`, `stop`, `instances`), and the record of a local instance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Instance", "InstanceRecord", "Platform"]


@dataclass(frozen=True)
class Instance:
    version: str
    id: str  # stable across controller restarts (e.g. "v2-0")
    url: str  # base URL, e.g. http://127.0.0.1:41234
    pid: int | None = None


@dataclass(frozen=True)
class InstanceRecord:
    """A local instance as journaled by the platform that started it, so a restarted controller re-adopts it."""

    id: str
    service: str
    version: str
    url: str
    pid: int
    port: int
    started: float


@runtime_checkable
class Platform(Protocol):
    async def launch(self, version: str) -> list[Instance]:
        """Start the version's instances (idempotent: already-running instances are returned)."""
        ...

    async def stop(self, version: str, *, grace_s: float) -> None:
        """Stop a version's instances: SIGTERM, then SIGKILL after grace_s. Idempotent."""
        ...

    async def instances(self) -> list[Instance]: ...
