"""The MetricProvider seam (DESIGN.md §3). Providers fetch; they never judge and never raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["MetricProvider", "Observation"]


@dataclass(frozen=True)
class Observation:
    value: Any = None  # a number, a list of numbers, or a mapping; None with error set
    error: str | None = None
    at: float = 0.0  # monotonic seconds when fetched

    @property
    def ok(self) -> bool:
        return self.error is None


@runtime_checkable
class MetricProvider(Protocol):
    async def query(self, query: str, *, backend: str, window_s: float) -> Observation: ...
