"""`greenflag check dns NAME`: are all authoritative servers and resolvers saying the same? exit 0 / 4 / 2."""

from __future__ import annotations

import asyncio
import json

import typer

from greenflag.errors import ReadinessFailed, UsageError

__all__ = ["register"]

EPILOG = """\
Examples:

  greenflag check dns www.example.com

  greenflag check dns www.example.com --resolver 1.1.1.1 --resolver 8.8.8.8 --json

  greenflag check dns www.example.test --nameserver 127.0.0.1:5301 --nameserver 127.0.0.2:5301

Without --nameserver, the authoritative servers are found like a resolver finds them: the zone holding NAME,
its NS set, their addresses (asked of the first --resolver, or of the system resolver).

Exit codes: 0 consistent, 4 authoritative servers disagree, a delegation is lame, or (with --require-caa /
--require-propagation) CAA is missing or a resolver still serves other data; 2 bad input.
"""


def register(check_app: typer.Typer) -> None:
    @check_app.command("dns", epilog=EPILOG)
    def dns_(
        name: str = typer.Argument(..., help="The DNS name to check, e.g. www.example.com."),
        resolver: list[str] = typer.Option([], "--resolver", help="IP[:PORT] of a resolver to compare (repeat)."),
        nameserver: list[str] = typer.Option(
            [], "--nameserver", help="IP[:PORT] of an authoritative server: skip discovery and ask these (repeat)."
        ),
        require_caa: bool = typer.Option(False, "--require-caa", help="Fail (not only warn) without CAA."),
        require_propagation: bool = typer.Option(
            False, "--require-propagation", help="Fail (not only warn) while a resolver serves other data."
        ),
        timeout: str = typer.Option("5s", "--timeout", help="Per-query timeout."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Compare SOA serial, NS set and A/AAAA/CNAME/CAA answers across authoritative servers and resolvers."""
        import dns.name

        from greenflag.cli.check.args import print_result
        from greenflag.cli.common import option_duration
        from greenflag.readiness.dns import check_dns
        from greenflag.readiness.dns.collect import parse_server
        from greenflag.readiness.target import TargetOptions

        try:
            dns.name.from_text(name)
        except Exception as exc:
            raise UsageError(f"NAME {name!r}: {exc}") from None
        if not name.strip() or " " in name:
            raise UsageError(f"NAME {name!r}: expected a DNS name such as www.example.com")
        for option, values in (("--resolver", resolver), ("--nameserver", nameserver)):
            for value in values:
                try:
                    parse_server(value)
                except ValueError as exc:
                    raise UsageError(f"{option} {value!r}: {exc}") from None
        options = TargetOptions(timeout_s=option_duration("--timeout", timeout))
        result = asyncio.run(check_dns(name, resolvers=resolver, options=options, nameservers=nameserver,
                                       require_caa=require_caa, require_propagation=require_propagation))  # fmt: skip
        if as_json:
            typer.echo(json.dumps(result.to_json(), indent=2))
        else:
            print_result(result)
        if not result.ok:
            raise ReadinessFailed(f"check dns {name}: {result.status}")
