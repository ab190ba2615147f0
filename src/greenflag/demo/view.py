"""What a person sees during `greenflag demo`: the story's lines, and a live table of the router's backends."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

__all__ = ["StoryView"]


class StoryView:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.started = time.monotonic()
        self.router: Any = None
        self.live: Live | None = None

    def say(self, line: str) -> None:
        elapsed = time.monotonic() - self.started
        self.console.print(f"[dim]{elapsed:6.1f}s[/dim]  {line}", highlight=False)

    def _table(self) -> Group:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("backend", "weight", "req/s", "errors", "p95", "state"):
            table.add_column(column, justify="left" if column in ("backend", "state") else "right")
        router = self.router
        if router is not None:
            stats = router.stats(5.0)
            states = router.backend_states()
            for name, weight in sorted(router.weights().items()):
                window = stats.get(name)
                rate = window.request_rate if window else 0.0
                errors = f"{(window.error_rate or 0.0) * 100:.2f}%" if window and window.requests else "–"
                p95 = f"{window.p95_ms:.1f}ms" if window and window.p95_ms is not None else "–"
                state = getattr(states.get(name), "state", "")
                table.add_row(name, f"{weight}", f"{rate:,.0f}", errors, p95, str(state))
        return Group(Text("router, last 5 s:", style="dim"), table)

    def attach(self, router: Any) -> None:
        self.router = router
        if self.console.is_terminal:
            self.live = Live(get_renderable=self._table, console=self.console, refresh_per_second=4, transient=True)
            self.live.start()

    def detach(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        self.router = None

    def conclude(self, result: dict[str, Any], path: Path) -> None:
        self.console.print()
        if "error" in result:
            self.console.print(f"[bold red]The story did not complete:[/] {result['error']}")
        else:
            bg = result["load"]["blue_green"]["metrics"]
            canary = result["load"]["canary"]["metrics"]
            lines = [
                f"blue-green v1 → v2: {result['switch_failed_requests']} failed of {bg['http_reqs']['count']:,} "
                f"requests (p95 {bg['http_req_duration']['p95']:.1f} ms)",
                f"canary v3 (5 % errors): rolled back {'yes' if result['rolled_back'] else 'NO'}, "
                f"{result['rollback_seconds']} s from its first failing response to 0 % "
                f"({canary['http_req_failed']['fails']} failed of {canary['http_reqs']['count']:,} requests)",
            ]
            for line in lines:
                self.console.print(f"  • {line}", highlight=False)
        verdict = "[bold green]the story holds[/]" if result["ok"] else "[bold red]the story does not hold[/]"
        self.console.print(f"\n{verdict} ({result['duration_s']} s) — details in {path}")
