"""The Probe seam: `check(target) -> ProbeResult`, never raising (docs/health.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Probe", "ProbeResult"]


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    latency_s: float
    detail: str = ""  # why it failed (status 503, connect refused, timeout, exit 1 ...)


@runtime_checkable
class Probe(Protocol):
    async def check(self, target: str) -> ProbeResult:
        """target: base URL for http, HOST:PORT for tcp, ignored by exec. Never raises."""
        ...
