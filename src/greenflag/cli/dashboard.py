"""`greenflag dashboard`: a live page on 127.0.0.1 following a load run's time series and a rollout."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer

from greenflag.errors import UsageError

__all__ = ["register"]

EPILOG = """\
Examples:

  greenflag load run http://127.0.0.1:8080/ --duration 5m --out out/series.jsonl &
  greenflag dashboard --series out/series.jsonl --port 8090      # open http://127.0.0.1:8090/

  greenflag dashboard -f greenflag.yaml                          # the service's rollouts, live

`load run --dashboard` and `rollout start --dashboard` serve the same page from the running command.
Ctrl-C stops it.
"""


async def _serve(series: list[Path], spec: Path | None, port: int, title: str) -> None:
    from greenflag.report.outputs import Outputs
    from greenflag.web.dashboard import Dashboard
    from greenflag.web.follow import SeriesTail, follow, status_reader

    read_status = status_reader(spec) if spec is not None else None
    live = Dashboard(title, port=port)
    try:
        url = live.start()
    except OSError as exc:
        raise UsageError(f"--port {port}: cannot listen: {exc.strerror or exc}") from None
    typer.echo(f"greenflag: live dashboard on {url}", err=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await follow(Outputs(title=title, live=live), [SeriesTail(p) for p in series], read_status, stop)
    finally:
        live.finish()
        live.stop()


def dashboard_command(
    series: list[Path] = typer.Option([], "--series", help="Follow this time series (load run --out), repeatable."),
    file: Path | None = typer.Option(None, "-f", "--file", help="Follow the rollouts of this release spec."),
    port: int = typer.Option(0, "--port", help="Port on 127.0.0.1 (0: a free one).", min=0, max=65535),
    title: str = typer.Option("greenflag dashboard", "--title", help="The page's title."),
) -> None:
    """Serve a live dashboard (Server-Sent Events): load charts, the rollout's step, weights, verdicts, events."""
    if not series and file is None:
        raise UsageError("nothing to follow: give --series PATH.jsonl and/or -f greenflag.yaml")
    if file is not None and not file.is_file():
        raise UsageError(f"-f {file}: no such file")
    asyncio.run(_serve(series, file, port, title))


def register(app: typer.Typer) -> None:
    app.command("dashboard", epilog=EPILOG)(dashboard_command)
