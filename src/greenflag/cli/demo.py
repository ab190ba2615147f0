"""`greenflag demo`: the whole story on the embedded default."""

from __future__ import annotations

from pathlib import Path

import typer

from greenflag.cli.outputs import DASHBOARD_OPT, DASHBOARD_PORT_OPT, HTML_OPT, JUNIT_OPT, close_outputs, open_outputs

__all__ = ["register"]

EPILOG = """\
Example:

  greenflag demo                            # a few minutes
  greenflag demo --quick --out out/demo     # under a minute; exit 0 when the story holds
  greenflag demo --quick --html out/demo/report.html --dashboard    # the story on one page, live
"""


def demo_command(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Folder for summary.json and reports."),
    quick: bool = typer.Option(False, "--quick", help="A shorter run."),
    vus: int = typer.Option(50, "--vus", help="Simulated users.", min=1, max=5000),
    html: Path | None = HTML_OPT,
    junit: Path | None = JUNIT_OPT,
    dashboard: bool = DASHBOARD_OPT,
    dashboard_port: int = DASHBOARD_PORT_OPT,
) -> None:
    """The whole story on 127.0.0.1, with its numbers. Exit 0 when it holds.

    v1 is deployed behind the embedded router; scripted users (pages, contact form with CSRF, API, SSE) arrive.
    v2 is released blue-green under that load: zero failed requests across the switch.
    A faulty v3 (5 % errors) is canaried at 10 % and rolled back by itself.
    summary.json: switch_failed_requests, rollback_seconds, rolled_back and both load summaries."""
    from greenflag.demo.story import DemoOptions, run_demo

    outputs = open_outputs("greenflag demo", html=html, junit=junit, dashboard=dashboard, dashboard_port=dashboard_port)
    try:
        story = run_demo(DemoOptions(out=out, quick=quick, vus=vus, outputs=outputs))
    finally:
        close_outputs(outputs, "greenflag demo")
    if not story["ok"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo", epilog=EPILOG)(demo_command)
