"""The `greenflag` command. One module per command group: parse → call one function → map to exit code."""

from __future__ import annotations

import importlib
import sys

import typer

from greenflag.errors import ExitCode, GreenflagError

__all__ = ["build_app", "main"]

# Each module has `register(app: typer.Typer) -> None`. Explicit table, imported at start-up; the modules
# import their heavy dependencies inside the command functions.
COMMAND_MODULES = (
    "greenflag.cli.demo",
    "greenflag.cli.demo_app",
    "greenflag.cli.load",
    "greenflag.cli.router",
    "greenflag.cli.up",
    "greenflag.cli.rollout",
    "greenflag.cli.analysis",
    "greenflag.cli.probe",
    "greenflag.cli.check",
    "greenflag.cli.ops",
    "greenflag.cli.runbook",
    "greenflag.cli.drill",
    "greenflag.cli.report",
    "greenflag.cli.dashboard",
)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="greenflag",
        help="Ship a web service and prove it was safe: load tests, blue-green and canary releases, "
        "automated rollback.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback(invoke_without_command=True)
    def _root(
        version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    ) -> None:
        if version:
            from greenflag import __version__

            typer.echo(f"greenflag {__version__}")
            raise typer.Exit(0)

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def main() -> None:
    app = build_app()
    try:
        app(prog_name="greenflag")
    except GreenflagError as exc:
        print(f"greenflag: error: {exc}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        print("greenflag: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(int(ExitCode.OK))
