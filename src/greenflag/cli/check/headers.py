"""`greenflag check headers URL`: the site's HTTP security headers graded as MDN HTTP Observatory grades them;
exit 0 at or above --min-grade, 4 below it (or when the site cannot be checked), 2 bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import typer

from greenflag.cli.check.args import parse_target_options
from greenflag.cli.check.output import emit, finish, url_argument
from greenflag.cli.common import option_duration
from greenflag.errors import UsageError

__all__ = ["headers_table", "register"]

EPILOG = """\
Examples:

  greenflag check headers http://127.0.0.1:8080/ --min-grade F

  greenflag check headers https://shop.example.com/

  greenflag check headers https://shop.example.com/ --resolve shop.example.com:443:127.0.0.1 \\
      --resolve shop.example.com:80:127.0.0.1 --ca-file ca.pem --min-grade A --json

  greenflag check headers http://127.0.0.1:8080/ --https-url https://127.0.0.1:8443/ --json   # exits 4 below A+

Both sides are fetched, as the Observatory does: the URL given, and the other scheme on the same host and path
on its default port (80 or 443), or --http-url / --https-url. The page graded is the HTTPS one when it answers.
Exit codes: 0 the grade is at least --min-grade, 4 it is not (or the site could not be checked), 2 bad input.
"""


def headers_table(evidence: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("test", "result", "score", "pass"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for name, test in evidence.get("tests", {}).items():
        table.add_row(name, test["result"], f"{test['modifier']:+d}", "yes" if test["pass"] else "no")
    return table


def register(check_app: typer.Typer) -> None:
    @check_app.command("headers", epilog=EPILOG)
    def headers(
        url: str = typer.Argument(..., help="The page to grade, http(s)://HOST[:PORT]/PATH."),
        http_url: str | None = typer.Option(None, "--http-url", help="Where the plain-HTTP side is."),
        https_url: str | None = typer.Option(None, "--https-url", help="Where the HTTPS side is."),
        min_grade: str = typer.Option("A+", "--min-grade", help="Fail below this grade (A+ … F)."),
        resolve: list[str] = typer.Option([], "--resolve", help="HOST:PORT:ADDRESS, curl's meaning; repeatable."),
        ca_file: str | None = typer.Option(None, "--ca-file", help="Trust only these CA certificates (PEM)."),
        timeout: str = typer.Option("10s", "--timeout", help="Per-request timeout."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Grade URL's security headers (CSP, HSTS, cookies, redirects, ...) with MDN HTTP Observatory's scoring."""
        from greenflag.readiness.headers.check import check_headers
        from greenflag.readiness.headers.grade import GRADES

        target = url_argument(url)
        for option, value, scheme in (("--http-url", http_url, "http"), ("--https-url", https_url, "https")):
            if value is not None and not url_argument(value).startswith(scheme + "://"):
                raise UsageError(f"{option} {value!r}: expected a {scheme}:// URL")
        if min_grade not in GRADES:
            raise UsageError(f"--min-grade {min_grade!r}: expected one of {', '.join(GRADES)}")
        options = parse_target_options(resolve, ca_file, option_duration("--timeout", timeout))
        result = asyncio.run(check_headers(target, http_url=http_url, https_url=https_url, min_grade=min_grade,
                                           options=options))  # fmt: skip
        emit(result, as_json, None if as_json else headers_table(result.evidence))
        finish([result])
