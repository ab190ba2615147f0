"""`greenflag check tls | dns | waf | headers | all`: production-readiness checks; exit 0 ready, 4 not, 2 bad input.

One module per subcommand (`register(check_app)` in each), so each check's options and examples sit beside it.
"""

from __future__ import annotations

import importlib

import typer

__all__ = ["register"]

SUBCOMMAND_MODULES: tuple[str, ...] = (
    "greenflag.cli.check.tls",
    "greenflag.cli.check.dns",
    "greenflag.cli.check.waf",
    "greenflag.cli.check.headers",
    "greenflag.cli.check.all",
)


def register(app: typer.Typer) -> None:
    check_app = typer.Typer(
        name="check",
        help="Production-readiness checks: TLS grade, DNS consistency, WAF efficacy, security headers, the checklist.",
        no_args_is_help=True,
    )
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(check_app)
    app.add_typer(check_app, name="check")
