"""`greenflag check tls HOST[:PORT]`: the SSL Labs-style grade of one TLS server; exit 0 ready, 4 not, 2 bad input."""

from __future__ import annotations

import asyncio
import json

import typer

from greenflag.cli.check.args import parse_target_options, split_host_port
from greenflag.errors import ReadinessFailed, UsageError

__all__ = ["register"]

EPILOG = """\
Examples:

  greenflag check tls example.com

  greenflag check tls localhost:8443 --ca-file ca.pem --json

  greenflag check tls shop.example.test:8443 --resolve shop.example.test:8443:127.0.0.1 --ca-file ca.pem --min-grade B

  greenflag check tls 127.0.0.1:8443 --sni localhost --ca-file ca.pem --min-grade B

The grade follows SSL Labs' rating guide (revision 2009r): protocol support, key exchange and cipher strength
scores, then caps (F, C, B), T (not trusted) and M (name mismatch), and warnings (A- instead of A+).

Exit codes: 0 the grade and certificate meet the minimum, 4 they do not (or the server cannot be reached),
2 bad input.
"""

GRADES = ("A+", "A", "A-", "B", "C", "D", "E", "F")


def register(check_app: typer.Typer) -> None:
    @check_app.command("tls", epilog=EPILOG)
    def tls(
        target: str = typer.Argument(..., help="HOST or HOST:PORT (port 443 by default); [IPv6]:PORT."),
        sni: str | None = typer.Option(None, "--sni", help="Server name to send (default: HOST, none for an IP)."),
        ca_file: str | None = typer.Option(None, "--ca-file", help="Trust only the CA certificates in this PEM."),
        resolve: list[str] = typer.Option([], "--resolve", help="HOST:PORT:ADDRESS: connect there (curl's meaning)."),
        min_grade: str = typer.Option("A+", "--min-grade", help="Lowest passing grade (A+, A, A-, B ... F)."),
        min_days: float = typer.Option(21, "--min-days", help="Fail when the certificate expires sooner."),
        timeout: str = typer.Option("10s", "--timeout", help="Per-connection timeout."),
        budget: str = typer.Option("60s", "--budget", help="Time limit for the cipher-suite enumeration."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Grade a TLS server like SSL Labs: protocols, cipher suites, certificate, HSTS, with each cap explained."""
        from greenflag.cli.common import option_duration
        from greenflag.readiness.tls import check_tls

        host, port = split_host_port(target, 443)
        if min_grade not in GRADES:
            raise UsageError(f"--min-grade {min_grade!r}: expected one of {', '.join(GRADES)}")
        if min_days < 0:
            raise UsageError("--min-days must be 0 or more")
        options = parse_target_options(resolve, ca_file, option_duration("--timeout", timeout))
        result = asyncio.run(check_tls(host, port, sni=sni, options=options, min_grade=min_grade, min_days=min_days,
                                       budget_s=option_duration("--budget", budget)))  # fmt: skip
        if as_json:
            typer.echo(json.dumps(result.to_json(), indent=2))
        else:
            from greenflag.cli.check.args import print_result

            print_result(result)
        if not result.ok:
            raise ReadinessFailed(f"check tls {target}: {result.status} (grade {result.grade or '-'})")
