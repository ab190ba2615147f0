"""What the URL checks (`waf`, `headers`) and the checklist share: URL and status options, the terminal/JSON
output, the exit. (--resolve and --ca-file are parsed by `args.parse_target_options`, as for tls and dns.)"""

from __future__ import annotations

import json
from collections.abc import Iterable

import typer

from greenflag.errors import ReadinessFailed, UsageError
from greenflag.readiness.base import CheckResult, Finding

__all__ = ["emit", "finish", "sorted_findings", "url_argument"]

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
_STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "error": "magenta", "skip": "dim"}


def url_argument(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"URL {url!r}: expected http(s)://HOST[:PORT]/PATH")
    try:
        _ = parts.port
    except ValueError:
        raise UsageError(f"URL {url!r}: the port is not a number from 1 to 65535") from None
    return url.strip()


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: _SEVERITY_ORDER.get(str(f.severity), 5))


def emit(result: CheckResult, as_json: bool, table: object | None = None) -> None:
    """Print one check's result: its JSON, or a headline, an optional rich table and the findings."""
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    style = _STATUS_STYLE.get(str(result.status), "")
    grade = f"  grade [bold]{result.grade}[/bold]" if result.grade else ""
    score = f"  score {result.score:g}" if result.score is not None else ""
    console.print(
        f"{result.name} {result.target}: [{style}]{result.status}[/{style}]{grade}{score}  ({result.duration_s:.1f} s)",
        markup=True,
    )
    if table is not None:
        console.print(table)
    for finding in sorted_findings(result.findings):
        console.print(f"  [{finding.severity}] {finding.id}: {finding.message}", markup=False)


def finish(results: Iterable[CheckResult]) -> None:
    """Exit 4 when any result is not ok (failed, or could not be checked); return normally otherwise."""
    failed = [r for r in results if not r.ok]
    if failed:
        raise ReadinessFailed(", ".join(f"{r.name} {r.target}: {r.status}" for r in failed))
