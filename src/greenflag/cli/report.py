"""`greenflag report`: one self-contained HTML page (and JUnit XML) from a load run's summary and time series and
a rollout's status."""

from __future__ import annotations

from pathlib import Path

import typer

from greenflag.errors import UsageError

__all__ = ["register"]

EPILOG = """\
Examples:

  greenflag load run http://127.0.0.1:8080/ --duration 30s --summary-json out/summary.json --out out/series.jsonl
  greenflag report out/summary.json --series out/series.jsonl -o out/report.html

  greenflag rollout status --json > out/status.json
  greenflag report out/summary.json --series out/series.jsonl --rollout out/status.json -o out/release.html
  greenflag report --journal .greenflag/state.db -o out/rollout.html --junit out/rollout.xml

Several --series files (one per load generator) are merged interval by interval, exactly.
"""


def report_command(
    summary: Path | None = typer.Argument(None, help="The load run's summary (load run --summary-json)."),
    series: list[Path] = typer.Option([], "--series", help="Time series (load run --out), repeatable."),
    rollout: list[Path] = typer.Option([], "--rollout", help="A rollout status (rollout status --json), repeatable."),
    journal: Path | None = typer.Option(None, "--journal", help="Read the rollout from this journal (state.db)."),
    service: str | None = typer.Option(None, "--service", help="With --journal: the service's newest rollout."),
    rollout_id: int | None = typer.Option(None, "--rollout-id", help="With --journal: this rollout.", min=1),
    output: Path = typer.Option(..., "-o", "--output", help="The HTML file to write."),
    junit: Path | None = typer.Option(None, "--junit", help="Also write JUnit XML (thresholds, steps, gates)."),
    title: str = typer.Option("greenflag report", "--title", help="The page's title."),
) -> None:
    """Write one HTML report that works offline: charts over time, thresholds, checks, steps and the rollback."""
    from greenflag.report.inputs import read_journal, read_series, read_status, read_summary
    from greenflag.report.outputs import Outputs, check_output_path

    if summary is None and not series and not rollout and journal is None:
        raise UsageError("nothing to report: give SUMMARY.json, --series, --rollout or --journal")
    if journal is None and (service is not None or rollout_id is not None):
        raise UsageError("--service and --rollout-id select a rollout in --journal; give --journal too")
    outputs = Outputs(title=title, html_path=output, junit_path=junit)
    check_output_path("-o", output)
    check_output_path("--junit", junit)
    if summary is not None:
        outputs.add_summary(read_summary(summary))
    outputs.lines = read_series(series) if series else []
    statuses = [read_status(path) for path in rollout]
    if journal is not None:
        statuses.append(read_journal(journal, service=service, rollout_id=rollout_id))
    for status in statuses:
        outputs.statuses[int(status.get("rollout_id", len(outputs.statuses)))] = status
    outputs.finish("greenflag report")
    typer.echo(f"greenflag: report written to {output}" + (f", JUnit to {junit}" if junit else ""))


def register(app: typer.Typer) -> None:
    app.command("report", epilog=EPILOG)(report_command)
