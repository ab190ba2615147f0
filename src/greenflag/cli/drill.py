"""`greenflag drill postgres | sqlite`: restore from real backups after a real fault; measure RTO and RPO.

Exit 0 when the drill met its objectives, 5 when it missed them (or did not restore), 2 on bad input.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import typer

from greenflag.cli.common import option_duration
from greenflag.errors import DrillFailed, UsageError

__all__ = ["junit_cases", "register"]

COMMON_EPILOG = """
Exit codes: 0 restored and met the objectives, 5 missed them or did not
restore, 2 bad input. Every drill writes a JSON and a Markdown record to the
records directory (default .greenflag/drills/).
"""

POSTGRES_EPILOG = (
    """\
Examples:

  greenflag drill postgres --duration 2s

  greenflag drill postgres -f drill.yaml --json --junit drill-junit.xml

  greenflag drill postgres --duration 1s --rto 1ms   # exits 5

Without --dsn the drill creates a throwaway cluster (initdb) in a temporary
directory, on a free port on 127.0.0.1; as root it runs PostgreSQL as the
'postgres' system user. With --dsn the drill KILLS that server and moves its
data directory aside: use it only on a cluster you can lose (staging).
"""
    + COMMON_EPILOG
)

SQLITE_EPILOG = (
    """\
Examples:

  greenflag drill sqlite --duration 2s --interval 250ms

  greenflag drill sqlite --db app.db --interval 500ms --rpo 2s --duration 2s

  greenflag drill sqlite --method wal --duration 2s --rpo 1s

The drill never writes to --db: it copies it with the online backup API and
drills on the copy. --method wal protects the copy with one base backup and
its write-ahead log's committed frames, shipped every --interval.
"""
    + COMMON_EPILOG
)


def junit_cases(result: Any) -> list[Any]:
    """One JUnit case per objective; a drill that never restored fails every one of them."""
    from greenflag.dr.records import objective_rows
    from greenflag.report.junit import JUnitCase

    classname = f"greenflag.drill.{result.kind}"
    restore = "; ".join(
        f.message
        for f in result.findings
        if f.id in ("dr.restore.failed", "dr.step.failed", "dr.rpo.unknown", "dr.fault.missing")
    )
    cases = []
    for name, value, limit, ok in objective_rows(result):
        message = "" if ok else f"{name} {value}, objective {limit}" + (f" ({restore})" if restore else "")
        cases.append(
            JUnitCase(
                f"{name} ≤ {limit.removeprefix('≤ ')}",
                classname,
                ok=ok,
                message=message,
                details=message,
                output=f"measured {value}",
            )
        )
    return cases


def _overrides(**options: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in options.items():
        if value is not None:
            out[key] = value
    return out


def _finish(
    result: Any, *, as_json: bool, records: str | None, junit: str | None, prom_file: str | None, spec_records: str
) -> None:
    from datetime import datetime

    from greenflag.dr.records import summary, write_records
    from greenflag.report.junit import write_junit

    data = write_records(result, Path(records or spec_records))
    if junit:
        write_junit(junit, f"greenflag drill {result.kind}", junit_cases(result))
    if prom_file:
        from greenflag.ops.textfile import drill_samples, write_textfile

        finished = datetime.fromisoformat(result.finished_at).timestamp()
        write_textfile(prom_file, drill_samples(result.kind, ok=result.ok, finished_at=finished, rto_s=result.rto_s,
                                                rpo_s=result.rpo_s, writes_lost=result.writes_lost))  # fmt: skip
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(summary(result, data["records"]))
    if not result.ok:
        worst = next((f.message for f in result.findings if f.severity in ("high", "critical")), "objectives missed")
        raise DrillFailed(f"the {result.kind} drill failed: {worst}")


def _echo(quiet: bool) -> Any:
    if quiet:
        return None
    from greenflag.dr.records import event_line

    return lambda event: print(event_line(event), file=sys.stderr, flush=True)


def register(app: typer.Typer) -> None:
    drill_app = typer.Typer(
        name="drill",
        help="Disaster-recovery drills: back up a live database, kill it and lose its data, restore, measure RTO/RPO.",
        no_args_is_help=True,
    )

    @drill_app.command("postgres", epilog=POSTGRES_EPILOG)
    def postgres(
        file: Path | None = typer.Option(None, "-f", "--file", help="drill.yaml (objectives, protection, heartbeat…)."),
        dsn: str | None = typer.Option(
            None, "--dsn", help="Drill this cluster (it is killed!) instead of a throwaway one."
        ),
        method: str | None = typer.Option(None, "--method", help="Protection: stream (default), archive, pgbackrest."),
        rto: str | None = typer.Option(None, "--rto", help="Recovery time objective (default 15m)."),
        rpo: str | None = typer.Option(None, "--rpo", help="Recovery point objective (default 5m)."),
        duration: str | None = typer.Option(None, "--duration", help="Heartbeat load after the backup (default 10s)."),
        workdir: Path | None = typer.Option(None, "--workdir", help="Keep backups and restored data here."),
        keep: bool = typer.Option(False, "--keep", help="Leave the restored server running and its files in place."),
        as_json: bool = typer.Option(False, "--json", help="Print the drill record as JSON."),
        junit: str | None = typer.Option(None, "--junit", help="Write JUnit XML: one case per objective."),
        records: str | None = typer.Option(None, "--records", help="Records directory (default .greenflag/drills)."),
        prom_file: str | None = typer.Option(
            None, "--prom-file", help="Write the result for node_exporter's textfile collector (PATH.prom)."
        ),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress lines on stderr."),
    ) -> None:
        """Drill a PostgreSQL restore: base backup + WAL, heartbeat writes, SIGKILL + data loss, restore, RTO/RPO."""
        from greenflag.dr.config import load_drill_spec
        from greenflag.dr.postgres.drill import run_postgres_drill

        spec = load_drill_spec(
            file,
            "postgres",
            _overrides(
                **{
                    "postgres.dsn": dsn,
                    "protection.method": method,
                    "objectives.rto": option_duration("--rto", rto) if rto is not None else None,
                    "objectives.rpo": option_duration("--rpo", rpo) if rpo is not None else None,
                    "heartbeat.duration": option_duration("--duration", duration) if duration is not None else None,
                    "workdir": str(workdir) if workdir else None,
                }
            ),
        )
        result = asyncio.run(run_postgres_drill(spec, keep=keep, echo=_echo(quiet)))
        _finish(result, as_json=as_json, records=records, junit=junit, prom_file=prom_file, spec_records=spec.records)

    @drill_app.command("sqlite", epilog=SQLITE_EPILOG)
    def sqlite(
        db: Path | None = typer.Option(
            None, "--db", help="The SQLite database to drill on (read once, never written)."
        ),
        file: Path | None = typer.Option(None, "-f", "--file", help="drill.yaml (objectives, protection, heartbeat…)."),
        method: str | None = typer.Option(
            None, "--method", help="Protection: backup (online backups, default) or wal (a base backup + WAL shipping)."
        ),
        interval: str | None = typer.Option(
            None, "--interval", help="An online backup (default 1s) or a WAL shipment (default 100ms) every…"
        ),
        rto: str | None = typer.Option(None, "--rto", help="Recovery time objective (default 15m)."),
        rpo: str | None = typer.Option(None, "--rpo", help="Recovery point objective (default 5m)."),
        duration: str | None = typer.Option(None, "--duration", help="Heartbeat load before the fault (default 10s)."),
        workdir: Path | None = typer.Option(None, "--workdir", help="Keep the working copy, backups and restore here."),
        keep: bool = typer.Option(False, "--keep", help="Keep the working directory and the restored database."),
        as_json: bool = typer.Option(False, "--json", help="Print the drill record as JSON."),
        junit: str | None = typer.Option(None, "--junit", help="Write JUnit XML: one case per objective."),
        records: str | None = typer.Option(None, "--records", help="Records directory (default .greenflag/drills)."),
        prom_file: str | None = typer.Option(
            None, "--prom-file", help="Write the result for node_exporter's textfile collector (PATH.prom)."
        ),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress lines on stderr."),
    ) -> None:
        """Drill an SQLite restore: online backups or WAL shipping under heartbeat writes, SIGKILL + file loss,
        restore, RTO/RPO."""
        from greenflag.dr.config import load_drill_spec
        from greenflag.dr.sqlite.drill import run_sqlite_drill

        if interval is not None and option_duration("--interval", interval) <= 0:
            raise UsageError(f"--interval {interval!r}: must be more than 0s")
        spec = load_drill_spec(
            file,
            "sqlite",
            _overrides(
                **{
                    "sqlite.db": str(db) if db else None,
                    "protection.method": method,
                    "protection.interval": option_duration("--interval", interval) if interval is not None else None,
                    "objectives.rto": option_duration("--rto", rto) if rto is not None else None,
                    "objectives.rpo": option_duration("--rpo", rpo) if rpo is not None else None,
                    "heartbeat.duration": option_duration("--duration", duration) if duration is not None else None,
                    "workdir": str(workdir) if workdir else None,
                }
            ),
        )
        result = asyncio.run(run_sqlite_drill(spec, keep=keep, echo=_echo(quiet)))
        _finish(result, as_json=as_json, records=records, junit=junit, prom_file=prom_file, spec_records=spec.records)

    app.add_typer(drill_app, name="drill")
