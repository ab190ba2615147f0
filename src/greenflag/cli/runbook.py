"""`greenflag runbook -f greenflag.yaml -o DIR`: deployment, rollback, incident and DR procedures for this spec."""

from __future__ import annotations

from pathlib import Path

import typer

from greenflag.errors import UsageError

__all__ = ["register"]

EPILOG = """\
Examples:

  greenflag runbook -f greenflag.yaml -o runbooks/
  greenflag ops alert-rules -f greenflag.yaml --runbook-url http://127.0.0.1:8080/runbooks   # where runbooks/ is served

Writes README.md, deployment.md, rollback.md, incident-response.md (one section per alert of
`greenflag ops alert-rules`) and dr-restore.md. Commands name the spec by the path given to -f: run them from
the same directory. Existing files of those names in DIR are replaced; nothing else in DIR is touched.
"""


def register(app: typer.Typer) -> None:
    @app.command("runbook", epilog=EPILOG)
    def runbook(
        file: Path = typer.Option(Path("greenflag.yaml"), "-f", "--file", help="The release spec (greenflag.yaml)."),
        output: Path = typer.Option(..., "-o", "--output", help="Directory to write the runbooks into."),
    ) -> None:
        """Generate Markdown runbooks with the exact commands for this release spec."""
        from greenflag.config import load_spec
        from greenflag.ops.runbooks import runbooks

        spec = load_spec(file)
        try:
            pages = runbooks(spec, str(file))
        except ValueError as exc:
            raise UsageError(f"{file}: {exc}") from None
        try:
            output.mkdir(parents=True, exist_ok=True)
            for name, text in pages.items():
                (output / name).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"-o {output}: cannot write: {exc.strerror or exc}") from None
        typer.echo(f"wrote {len(pages)} runbooks to {output}: {', '.join(pages)}")
