"""Terminal views of rollout statuses (rich): `rollout status`, `history`, `watch`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["render_history", "render_status", "status_table", "watch_status"]


def _weights(weights: dict[str, int]) -> str:
    return "  ".join(f"{name} {weight} %" for name, weight in sorted(weights.items())) or "-"


def status_table(data: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    if data.get("phase") is None:
        table.add_row("rollout", "none yet")
        return table
    table.add_row("service", str(data["service"]))
    table.add_row("phase", str(data["phase"]))
    table.add_row("stable", str(data.get("stable") or "-"))
    table.add_row("canary", str(data.get("canary") or "-"))
    source = {"router": "read back from the router", "journal": "last read back from the router"}
    note = source.get(str(data.get("weights_source")), "intended: not read back from the router yet")
    table.add_row("weights", f"{_weights(data.get('weights', {}))}  ({note})")
    if data.get("weights_differ"):
        intended = _weights(data.get("intended_weights", {}))
        table.add_row("intended", f"{intended}  (differs: {data.get('weights_note')})")
    table.add_row("step", f"{data.get('step')} ({data.get('stage')})")
    if data.get("abort_reason"):
        table.add_row("rolled back", str(data["abort_reason"]))
    if data.get("data_steps"):  # migrations, their guard, cache invalidations
        steps = data["data_steps"].items()
        table.add_row("data", "  ".join(f"{stage} {state['outcome']}" for stage, state in steps))
    for event in data.get("events", [])[-8:]:
        table.add_row(str(event["time"])[11:19], f"{event['kind']}: {event['message']}")
    return table


def render_status(data: dict[str, Any]) -> None:
    from rich.console import Console

    Console().print(status_table(data))


def render_history(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "version", "phase", "stable", "started", "outcome")
    for row in rows:
        outcome = row.get("abort_reason") or ("promoted" if row["phase"] == "Healthy" else row["stage"])
        table.add_row(
            str(row["rollout_id"]), row["version"], row["phase"], str(row.get("stable") or "-"),
            str(row["created_at"])[:19], str(outcome),
        )  # fmt: skip
    Console().print(table)


def watch_status(fetch: Callable[[], dict[str, Any]], interval: float) -> None:
    """Refresh until the rollout is done (or Ctrl-C)."""
    from rich.live import Live

    with Live(status_table(fetch()), refresh_per_second=4) as live:
        try:
            while True:
                data = fetch()
                live.update(status_table(data))
                if data.get("phase") is None or data.get("stage") == "done":
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            return
