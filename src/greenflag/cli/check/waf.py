"""`greenflag check waf URL`: how much of the attack corpus the WAF in front of URL blocks, and how much
legitimate traffic it lets through; exit 0 ready, 4 not, 2 bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import typer

from greenflag.cli.check.args import parse_target_options
from greenflag.cli.check.output import emit, finish, url_argument
from greenflag.cli.common import option_duration, parse_status_codes
from greenflag.errors import UsageError

__all__ = ["register", "waf_table"]

EPILOG = """\
Examples:

  greenflag check waf http://127.0.0.1:8080/api/items --budget 300 --rate 200   # exits 4 with no WAF in front

  greenflag check waf https://shop.example.com/search --resolve shop.example.com:443:127.0.0.1 \\
      --ca-file ca.pem --block-status 403,406 --budget 500 --rate 20 --json

  greenflag check waf http://127.0.0.1:8080/ --class sqli --class xss --placeholder query --min-grade B   # exits 4

Every request goes to URL's host only (payloads that name other addresses are strings; redirects are not
followed), at most --budget requests, at --rate per second, --concurrency at a time.
Exit codes: 0 the WAF met the limits, 4 it did not (or could not be checked), 2 bad input.
"""


def waf_table(evidence: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("class", "OWASP", "score", "grade", "blocked", "benign passed", "unresolved"):
        table.add_column(column, justify="left" if column in ("class", "OWASP") else "right")

    def pct(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f} %"

    for key, item in evidence.get("sets", {}).items():
        unresolved = item["attacks"]["unresolved"] + item["benign"]["unresolved"]
        table.add_row(
            key,
            item.get("owasp", "").split(" ")[0],
            pct(item["score"]),
            item["grade"] or "–",
            pct(item["block_rate"]),
            pct(item["pass_rate"]),
            str(unresolved),
        )
    overall = evidence.get("overall", {})
    if overall:
        unresolved = overall["attacks"]["unresolved"] + overall["benign"]["unresolved"]
        table.add_row(
            "overall",
            "",
            pct(overall["score"]),
            overall["grade"] or "–",
            pct(overall["block_rate"]),
            pct(overall["pass_rate"]),
            str(unresolved),
            style="bold",
        )
    return table


def register(check_app: typer.Typer) -> None:
    @check_app.command("waf", epilog=EPILOG)
    def waf(
        url: str = typer.Argument(..., help="An http(s) URL behind the WAF; payloads go to its path and query."),
        block_status: list[str] = typer.Option(["403"], "--block-status", help="Statuses meaning blocked."),
        pass_status: list[str] = typer.Option(["200", "404"], "--pass-status", help="Statuses meaning passed."),
        block_regex: str | None = typer.Option(None, "--block-regex", help="A body matching this is a block page."),
        pass_regex: str | None = typer.Option(None, "--pass-regex", help="A body matching this reached the service."),
        block_conn_reset: bool = typer.Option(False, "--block-conn-reset", help="A dropped connection is a block."),
        budget: int = typer.Option(2000, "--budget", min=1, help="Send at most this many requests."),
        rate: float = typer.Option(50.0, "--rate", min=0.1, help="Requests per second at most."),
        concurrency: int = typer.Option(4, "--concurrency", min=1, max=64, help="Requests in flight at most."),
        classes: list[str] = typer.Option([], "--class", help="Only this attack class (sqli, xss, ...); repeatable."),
        placeholders: list[str] = typer.Option([], "--placeholder", help="Only this placeholder; repeatable."),
        encoders: list[str] = typer.Option([], "--encoder", help="Only this encoder; repeatable."),
        corpus: list[str] = typer.Option([], "--corpus", help="Extra corpus file or directory; repeatable."),
        min_block_rate: float = typer.Option(90.0, "--min-block-rate", help="Fail below this attack block %."),
        max_fp_rate: float = typer.Option(5.0, "--max-false-positive-rate", help="Fail above this benign block %."),
        max_unresolved: float = typer.Option(5.0, "--max-unresolved-rate", help="Warn above this unresolved %."),
        min_grade: str | None = typer.Option(None, "--min-grade", help="Fail below this grade (A+ … F)."),
        resolve: list[str] = typer.Option([], "--resolve", help="HOST:PORT:ADDRESS, curl's meaning; repeatable."),
        ca_file: str | None = typer.Option(None, "--ca-file", help="Trust only these CA certificates (PEM)."),
        timeout: str = typer.Option("10s", "--timeout", help="Per-request timeout."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Send an attack corpus (and legitimate look-alikes) through URL's WAF and grade it, GoTestWAF's way."""
        from greenflag.readiness.waf.check import WafOptions, check_waf
        from greenflag.readiness.waf.evaluate import Limits
        from greenflag.readiness.waf.plan import ENCODERS, PLACEHOLDERS
        from greenflag.readiness.waf.score import GRADE_BANDS, Decision
        from greenflag.readiness.waf.send import SendLimits

        target = url_argument(url)
        for option, values, known in (("--placeholder", placeholders, PLACEHOLDERS), ("--encoder", encoders, ENCODERS)):
            for value in values:
                if value not in known:
                    raise UsageError(f"{option} {value!r}: expected one of {', '.join(known)}")
        letters = [letter for _, letter in GRADE_BANDS] + ["F"]
        if min_grade is not None and min_grade not in letters:
            raise UsageError(f"--min-grade {min_grade!r}: expected one of {', '.join(letters)}")
        for option, pattern in (("--block-regex", block_regex), ("--pass-regex", pass_regex)):
            if pattern is not None:
                import re

                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise UsageError(f"{option} {pattern!r}: not a regular expression: {exc}") from None
        decision = Decision(
            parse_status_codes("--block-status", block_status),
            parse_status_codes("--pass-status", pass_status),
            block_regex,
            pass_regex,
            block_conn_reset,
        )
        if decision.block_statuses & decision.pass_statuses:
            raise UsageError("--block-status and --pass-status share codes: a status cannot mean both")
        options = WafOptions(
            decision=decision,
            limits=Limits(min_block_rate, max_fp_rate, max_unresolved, min_grade),
            budget=budget,
            send=SendLimits(rate=rate, concurrency=concurrency),
            corpus=tuple(corpus),
            sets=tuple(classes),
            placeholders=tuple(placeholders),
            encoders=tuple(encoders),
        )
        opts = parse_target_options(resolve, ca_file, option_duration("--timeout", timeout))
        try:
            result = asyncio.run(check_waf(target, waf=options, options=opts))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        emit(result, as_json, None if as_json else waf_table(result.evidence))
        finish([result])
