"""`greenflag probe TARGET`: run one health probe (http, tcp or exec) and report; exit 0 ok, 4 failed."""

from __future__ import annotations

import asyncio
import json

import typer

from greenflag.cli.common import option_duration, parse_status_codes
from greenflag.errors import ExitCode, UsageError

__all__ = ["register"]

EPILOG = """\
Examples:

  greenflag probe http://127.0.0.1:8080/healthz/ready

  greenflag probe http://127.0.0.1:8080/healthz/ready --expect-status 200 --json-field status=ready --max-latency 200ms

  greenflag probe tcp://127.0.0.1:8080 --timeout 2s --json

  greenflag probe --exec 'curl -fsS http://127.0.0.1:8080/healthz/live' --timeout 3s

Exit codes: 0 the probe passed, 4 it failed, 2 bad input.
"""


def register(app: typer.Typer) -> None:
    @app.command("probe", epilog=EPILOG)
    def probe(
        target: str = typer.Argument("", help="http(s)://HOST:PORT/PATH or tcp://HOST:PORT (ignored with --exec)."),
        exec_: str | None = typer.Option(None, "--exec", help="Run this command instead; ok when it exits 0."),
        expect_status: list[str] = typer.Option(
            [], "--expect-status", help="Expected HTTP statuses (default 200-399)."
        ),
        body_contains: str | None = typer.Option(None, "--body-contains", help="The body must contain this text."),
        json_field: str | None = typer.Option(
            None, "--json-field", help="A JSON field that must be truthy, or PATH=VALUE (e.g. status=ok)."
        ),
        max_latency: str | None = typer.Option(None, "--max-latency", help="Fail when slower, e.g. 200ms."),
        timeout: str = typer.Option("2s", "--timeout", help="Give up after this long."),
        as_json: bool = typer.Option(False, "--json", help="Print {ok, latency_ms, detail, target} as JSON."),
    ) -> None:
        """Run one health probe against TARGET and say whether it passed."""
        import shlex

        from greenflag.health.probes import ExecProbe, HttpProbe, TcpProbe

        limit = option_duration("--timeout", timeout)
        slow = option_duration("--max-latency", max_latency) if max_latency is not None else None
        runner: HttpProbe | TcpProbe | ExecProbe
        if exec_ is not None:
            argv = shlex.split(exec_)
            if not argv:
                raise UsageError("--exec: give a command")
            runner = ExecProbe(argv, timeout=limit)
        elif target.startswith(("http://", "https://")):
            codes = parse_status_codes("--expect-status", expect_status) if expect_status else range(200, 400)
            statuses = sorted(codes)
            runner = HttpProbe(expect_status=statuses, body_contains=body_contains, json_field=json_field,
                               max_latency=slow, timeout=limit)  # fmt: skip
        elif target.startswith("tcp://"):
            runner = TcpProbe(timeout=limit)
        else:
            raise UsageError(f"TARGET {target!r}: expected http(s)://HOST:PORT/PATH or tcp://HOST:PORT (or --exec)")
        result = asyncio.run(runner.check(target))
        if as_json:
            data = {"ok": result.ok, "latency_ms": round(result.latency_s * 1000, 3), "detail": result.detail,
                    "target": exec_ if exec_ is not None else target}  # fmt: skip
            typer.echo(json.dumps(data))
        else:
            typer.echo(f"{'ok' if result.ok else 'FAILED'} {result.latency_s * 1000:.1f} ms  {result.detail}")
        raise typer.Exit(int(ExitCode.OK if result.ok else ExitCode.READINESS_FAILED))
