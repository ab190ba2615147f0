"""The report options that `load run`, `rollout start` and `demo` share: `--out`, `--html`, `--junit`,
`--dashboard`. Not a command: the command modules declare the options with these helpers and hand the values
to `open_outputs`, which checks every path before any traffic (exit 2) and starts the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from greenflag.cli.common import option_duration
from greenflag.errors import UsageError

__all__ = ["DASHBOARD_OPT", "DASHBOARD_PORT_OPT", "HTML_OPT", "JUNIT_OPT", "close_outputs", "open_outputs"]

HTML_OPT = typer.Option(None, "--html", help="Write a self-contained HTML report with charts (works offline).")
JUNIT_OPT = typer.Option(None, "--junit", help="Write JUnit XML: one test case per threshold, step, gate.")
DASHBOARD_OPT = typer.Option(False, "--dashboard", help="Serve a live dashboard on 127.0.0.1 (URL printed).")
DASHBOARD_PORT_OPT = typer.Option(0, "--dashboard-port", help="Port of the live dashboard (0: a free one).", min=0)


def series_interval(value: str) -> int:
    seconds = option_duration("--out-interval", value)
    if seconds < 1 or seconds != int(seconds):
        raise UsageError(f"--out-interval {value!r}: a whole number of seconds, at least 1s (1s, 10s, 1m)")
    return int(seconds)


def open_outputs(
    title: str,
    *,
    out: Path | None = None,
    out_interval: str = "1s",
    html: Path | None = None,
    junit: Path | None = None,
    dashboard: bool = False,
    dashboard_port: int = 0,
) -> Any:
    """An `Outputs` (greenflag.report.outputs) with the dashboard started when asked; None when nothing is."""
    if out is None and html is None and junit is None and not dashboard:
        return None
    from greenflag.report.outputs import Outputs

    outputs = Outputs(
        title=title, series_path=out, html_path=html, junit_path=junit, interval_s=series_interval(out_interval)
    )
    outputs.check()
    if dashboard:
        from greenflag.web.dashboard import Dashboard

        live = Dashboard(title, port=dashboard_port)
        try:
            url = live.start()
        except OSError as exc:
            raise UsageError(f"--dashboard-port {dashboard_port}: cannot listen: {exc.strerror or exc}") from None
        outputs.live = live
        typer.echo(f"greenflag: live dashboard on {url}", err=True)
    return outputs


def close_outputs(outputs: Any, suite: str) -> None:
    """Write the report files and stop the dashboard (after telling its pages the run is over)."""
    if outputs is None:
        return
    try:
        outputs.finish(suite)
    finally:
        if outputs.live is not None:
            outputs.live.stop()
    for option, path in (
        ("--html", outputs.html_path),
        ("--junit", outputs.junit_path),
        ("--out", outputs.series_path),
    ):
        if path is not None:
            typer.echo(f"greenflag: {option[2:]} written to {path}", err=True)
