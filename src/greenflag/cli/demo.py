"""`greenflag demo`: the whole story on the embedded default."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]

EPILOG = """\
Example:

  greenflag demo --quick --out out/demo     # about a minute; exit 0 when the story holds
"""


def demo_command(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Folder for summary.json and reports."),
    quick: bool = typer.Option(False, "--quick", help="A shorter run."),
    vus: int = typer.Option(50, "--vus", help="Simulated users.", min=1, max=5000),
) -> None:
    """Start the reference service on 127.0.0.1 and send it scripted users (pages, contact form with CSRF, JSON
    API, live SSE stream) with live progress; print the summary. Exit 0 when the story holds."""
    from greenflag.demo.story import DemoOptions, run_demo

    story = run_demo(DemoOptions(out=out, quick=quick, vus=vus))
    if not story["ok"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo", epilog=EPILOG)(demo_command)
