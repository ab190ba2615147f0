"""The live progress line (rich) while a load test runs; plain periodic lines when stderr is not a terminal."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.text import Text

from greenflag.load.metrics.intervals import Sparse, hist_percentiles
from greenflag.load.metrics.series import Registry
from greenflag.units import format_duration

__all__ = ["Progress", "progress_line"]


def progress_line(
    elapsed: float, total: float, rps: float, p95_ms: float, error_rate: float, vus: int, vus_max: int
) -> str:
    fraction = min(1.0, elapsed / total) if total > 0 else 0.0
    filled = int(fraction * 8)
    bar = "━" * filled + "╺" + " " * (7 - filled) if filled < 8 else "━" * 8
    remaining = max(0.0, total - elapsed)
    # fits an 80-column terminal for common values
    return (
        f"{format_duration(elapsed)}/{format_duration(total)} {bar} {fraction * 100:3.0f}% "
        f"{format_duration(remaining)} left │ {rps:,.0f} req/s │ p95 {p95_ms:.1f}ms │ "
        f"err {error_rate * 100:.2f}% │ VUs {vus}/{vus_max}"
    )


class Progress:
    """A sink fed once a second by the runner."""

    def __init__(self, registry: Registry, total_s: float, *, console: Console | None = None) -> None:
        self.registry = registry
        self.total = total_s
        self.console = console or Console(stderr=True)
        self.live: Live | None = None
        self._last_plain = 0.0

    def start(self) -> None:
        if self.console.is_terminal:
            self.live = Live(Text(""), console=self.console, refresh_per_second=4, transient=False)
            self.live.start()

    def line(self) -> str:
        now = time.perf_counter()
        windows = self.registry.recent(5)
        rps = windows[-1].reqs if windows else 0
        reqs = sum(w.reqs for w in windows)
        failed = sum(w.failed for w in windows)
        p95_ms = hist_percentiles(Sparse.add(w.durations for w in windows if w.durations is not None), [95])[0]
        return progress_line(
            now - self.registry.start,
            self.total,
            rps,
            p95_ms or 0.0,
            failed / reqs if reqs else 0.0,
            self.registry.vus,
            self.registry.vus_max,
        )

    def add(self) -> None:
        self.registry.tick(time.perf_counter())
        text = self.line()
        if self.live is not None:
            self.live.update(Text(text))
        elif time.perf_counter() - self._last_plain >= 10.0:
            self._last_plain = time.perf_counter()
            self.console.print(text, highlight=False)

    def flush(self) -> None:
        if self.live is not None:
            self.live.update(Text(self.line()))
            self.live.stop()
            self.live = None
