"""The MetricProvider seam: providers fetch; they never judge and never raise. `render_query` fills in the
`{{backend}}` and `{{window}}` placeholders every provider accepts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["MetricProvider", "Observation", "render_query"]


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


def render_query(query: str, *, backend: str, window_s: float) -> str:
    """Substitute `{{backend}}` and `{{window}}` (whole seconds, e.g. `30s`) in a query."""
    window = f"{max(1, round(window_s))}s"
    for name, value in (("backend", backend), ("window", window)):
        query = query.replace("{{" + name + "}}", value).replace("{{ " + name + " }}", value)
    return query
