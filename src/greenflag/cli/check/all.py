"""`greenflag check all -f greenflag.yaml`: the readiness checklist of the spec's `readiness:` section, in one
report (terminal table, --json, --junit); exit 0 ready, 4 a required check failed or could not run, 2 bad input."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer

from greenflag.errors import ReadinessFailed, UsageError

__all__ = ["register"]

EPILOG = """\
Examples:

  greenflag check all -f examples/readiness.yaml

  greenflag check all -f greenflag.yaml --junit reports/readiness.xml --json > readiness.json

  greenflag check all -f greenflag.yaml --only health --only headers

The checks run concurrently, each within its timeout (readiness.timeout, or the check's own). A check that fails
is FAIL; one that could not run (connection refused, timeout) is ERROR; both block readiness when the check is
required (the default), and only show in the report when it is not.
Exit codes: 0 ready, 4 a required check failed or could not run, 2 bad greenflag.yaml or options.
"""


def _table(results: list[Any]) -> Any:
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("check", "target", "required", "status", "grade", "time"):
        table.add_column(column, overflow="fold")
    styles = {"pass": "green", "warn": "yellow", "fail": "red", "error": "magenta", "skip": "dim"}
    for r in results:
        style = styles.get(str(r.status), "")
        table.add_row(r.name, r.target, "yes" if r.required else "no", f"[{style}]{r.status}[/{style}]",
                      r.grade or "", f"{r.duration_s:.1f}s")  # fmt: skip
    return table


def register(check_app: typer.Typer) -> None:
    @check_app.command("all", epilog=EPILOG)
    def check_all(
        file: str = typer.Option("greenflag.yaml", "-f", "--file", help="The release spec with a readiness: section."),
        only: list[str] = typer.Option([], "--only", help="Run only this kind of check; repeatable."),
        junit: str | None = typer.Option(None, "--junit", help="Also write a JUnit XML report here."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Run every readiness check in greenflag.yaml (TLS, DNS, WAF, headers, monitoring, backups, health, your
        own) and say whether the service is ready."""
        from greenflag.cli.check.output import sorted_findings
        from greenflag.config import load_spec
        from greenflag.readiness.base import Status
        from greenflag.readiness.checklist import KINDS, checklist_ok, plan_checklist, run_checklist
        from greenflag.report.checklist import checklist_json, junit_cases, summary_line
        from greenflag.report.junit import write_junit

        for kind in only:
            if kind not in KINDS:
                raise UsageError(f"--only {kind!r}: expected one of {', '.join(KINDS)}")
        spec = load_spec(file)
        if not plan_checklist(spec, only=only or None):
            raise UsageError(f"{file}: readiness: no checks configured{' of ' + ', '.join(only) if only else ''} "
                             f"(keys: {', '.join(KINDS)})")  # fmt: skip
        results = asyncio.run(run_checklist(spec, only=only or None))
        if junit is not None:
            write_junit(junit, "greenflag check all", junit_cases(results))
        if as_json:
            typer.echo(json.dumps(checklist_json(results, required_before=spec.readiness.required_before), indent=2))
        else:
            from rich.console import Console

            console = Console(highlight=False, soft_wrap=True)
            console.print(_table(results))
            for r in results:
                if r.status not in (Status.PASS, Status.SKIP):
                    for finding in sorted_findings(r.findings)[:5]:
                        console.print(f"  [{finding.severity}] {r.name} {r.target}: {finding.message}", markup=False)
            console.print(summary_line(results), markup=False)
        if not checklist_ok(results):
            failed = [f"{r.name} {r.target}" for r in results if r.required and not r.ok]
            raise ReadinessFailed(f"not ready: {', '.join(failed)}")
