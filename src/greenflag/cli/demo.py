"""`greenflag demo`: the whole story on the embedded default."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]

EPILOG = """\
Example:

  greenflag demo                            # a few minutes
  greenflag demo --quick --out out/demo     # under a minute; exit 0 when the story holds
"""


def demo_command(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Folder for summary.json and reports."),
    quick: bool = typer.Option(False, "--quick", help="A shorter run."),
    vus: int = typer.Option(50, "--vus", help="Simulated users.", min=1, max=5000),
) -> None:
    """The whole story on 127.0.0.1: deploy v1 behind the embedded router, send it scripted users, release v2
    blue-green with zero failed requests, canary a faulty v3 and roll it back by itself. Exit 0 when it holds.

    The users browse pages, submit the contact form (CSRF), call the JSON API and hold live SSE streams, from
    their own process. summary.json records switch_failed_requests, rollback_seconds (v3's first failing
    response → 0 % traffic), rolled_back and both load summaries."""
    from greenflag.demo.story import DemoOptions, run_demo

    story = run_demo(DemoOptions(out=out, quick=quick, vus=vus))
    if not story["ok"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo", epilog=EPILOG)(demo_command)
