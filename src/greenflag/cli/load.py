"""`greenflag load run TARGET`: load-test a URL (quick mode), a Python scenario or a YAML scenario."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import typer

from greenflag.cli.common import option_duration, parse_option
from greenflag.cli.outputs import DASHBOARD_OPT, DASHBOARD_PORT_OPT, HTML_OPT, JUNIT_OPT, close_outputs, open_outputs
from greenflag.errors import ExitCode, UsageError

__all__ = ["register"]

EPILOG = """\
Examples:

  greenflag load run http://127.0.0.1:8080/ --vus 64 --duration 30s

  greenflag load run http://127.0.0.1:8080/api/items --rate 500 --duration 1m \\
      --threshold 'http_req_duration: p(95)<2000' --threshold 'http_req_failed: rate<0.01' \\
      --summary-json out/summary.json --out out/series.jsonl --html out/report.html --junit out/junit.xml

  greenflag load run journeys.py --host http://127.0.0.1:8080 --vus 100 --duration 5m -e USERS=data/users.csv

When the duration is over no new iteration starts; running ones get --graceful-stop (30s) to finish and are
counted, the rest are counted as interrupted. Exit codes: 0 all thresholds held · 2 bad option or script (before
any traffic) · 99 a threshold was crossed (as k6).
"""

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)


def _env(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not _ENV_NAME.fullmatch(key):
            hint = " (-e is --env, as in k6; the executor is --executor NAME)" if not sep else ""
            raise UsageError(f"--env {value!r}: expected KEY=VALUE with KEY a name such as BASE_URL{hint}")
        out.append((key, rest))
    return out


def _method(value: str) -> str:
    if not _METHOD.fullmatch(value):
        raise UsageError(f"--method {value!r}: expected an HTTP method such as GET, POST or PUT")
    return value.upper()


def check_writable(option: str, path: Path) -> None:
    """Before any traffic: `path` can be written (its directory is created). An existing file is left as it is."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        existed = path.exists()
        with path.open("a"):
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write: {exc.strerror or exc}") from None


def _headers(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for value in values:
        name, sep, rest = value.partition(":")
        if not sep or not name.strip() or any(c in name for c in " \t\r\n"):
            raise UsageError(f"--header {value!r}: expected 'Name: value'")
        out.append((name.strip(), rest.strip()))
    return out


def _body(value: str | None) -> bytes:
    if value is None:
        return b""
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            return path.read_bytes()
        except OSError as exc:
            raise UsageError(f"--body {value!r}: cannot read {path}: {exc.strerror}") from None
    return value.encode()


def run_command(
    target: str = typer.Argument(..., help="A URL (quick mode), a Python scenario (.py) or a YAML scenario."),
    vus: int | None = typer.Option(None, "--vus", "-u", help="Virtual users (pre-allocated VUs for --rate).", min=1),
    duration: str | None = typer.Option(None, "--duration", "-d", help="How long: 500ms, 30s, 5m, 1h. [10s]"),
    rate: float | None = typer.Option(
        None, "--rate", "-r", help="Open model: iterations (requests in URL mode) per second.", min=0.001
    ),
    max_vus: int | None = typer.Option(None, "--max-vus", help="Open model: most VUs to allocate.", min=1),
    executor: str | None = typer.Option(
        None,
        "--executor",
        help="constant-vus, ramping-vus, constant-arrival-rate, ramping-arrival-rate, shared-iterations, "
        "per-vu-iterations. Default: from the other options.",
    ),
    stage: list[str] = typer.Option([], "--stage", "-s", help="Ramping stage DURATION:TARGET, repeatable."),
    iterations: int | None = typer.Option(None, "--iterations", "-i", help="Iteration budget.", min=1),
    method: str = typer.Option("GET", "--method", "-X", help="URL mode: HTTP method."),
    header: list[str] = typer.Option([], "--header", "-H", help="URL mode: 'Name: value', repeatable."),
    body: str | None = typer.Option(None, "--body", help="URL mode: request body, or @FILE."),
    timeout: str = typer.Option("60s", "--timeout", help="Per-request timeout."),
    threshold: list[str] = typer.Option(
        [], "--threshold", "-t", help="k6 syntax 'METRIC[{tag:v}]: EXPR', e.g. 'http_req_duration: p(95)<2000'."
    ),
    summary_json: Path | None = typer.Option(None, "--summary-json", help="Write the summary JSON here."),
    host: str | None = typer.Option(None, "--host", help="Scenario files: base URL for relative paths."),
    graceful_stop: str | None = typer.Option(
        None,
        "--graceful-stop",
        help="Time running iterations get to finish when the duration is over; then they are interrupted "
        "(counted). [30s, or the scenario's gracefulStop]",
    ),
    env: list[str] = typer.Option(
        [], "--env", "-e", help="KEY=VALUE in the scenario's environment (os.environ), repeatable (as k6's -e)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live progress line."),
    out: Path | None = typer.Option(None, "--out", help="Write the time series here (JSON lines, one per interval)."),
    out_interval: str = typer.Option("1s", "--out-interval", help="Time-series interval: 1s, 10s, 1m."),
    html: Path | None = HTML_OPT,
    junit: Path | None = JUNIT_OPT,
    dashboard: bool = DASHBOARD_OPT,
    dashboard_port: int = DASHBOARD_PORT_OPT,
) -> None:
    """Run a load test and print a k6-like summary. Thresholds set the exit code (99 when crossed)."""
    from greenflag.load.run import LoadRequest, run_request

    if summary_json is not None:
        check_writable("--summary-json", summary_json)
    request = LoadRequest(
        target=target,
        vus=vus,
        duration=None if duration is None else option_duration("--duration", duration),
        rate=rate,
        max_vus=max_vus,
        executor=executor,
        stages=tuple(parse_option("--stage", s, _parse_stage) for s in stage),
        iterations=iterations,
        method=_method(method),
        headers=_headers(header),
        body=_body(body),
        timeout=option_duration("--timeout", timeout),
        thresholds=list(threshold),
        host=host,
        graceful_stop=None if graceful_stop is None else option_duration("--graceful-stop", graceful_stop),
        env=_env(env),
        progress=not quiet,
    )
    outputs = open_outputs(
        f"greenflag load run {target}", out=out, out_interval=out_interval, html=html, junit=junit,
        dashboard=dashboard, dashboard_port=dashboard_port,
    )  # fmt: skip
    if outputs is not None:
        request.sink_factories = outputs.sink_factories()
    try:
        result = run_request(request)
    except BaseException:
        if outputs is not None and outputs.live is not None:
            outputs.live.stop()  # bad input or a crash: no summary to show
        raise
    if summary_json is not None:
        _write_json(summary_json, result.summary)
    for warning in result.summary.get("warnings", []):
        typer.echo(f"greenflag: warning: {warning['id']}: {warning['message']}", err=True)
    if outputs is not None:
        outputs.add_summary(result.summary)
        close_outputs(outputs, "greenflag load run")
    if not result.ok:
        crossed = [f"{o.threshold.key}: {o.threshold.source}" for o in result.outcomes if not o.ok]
        typer.echo(f"greenflag: thresholds crossed: {'; '.join(crossed)}", err=True)
        raise typer.Exit(int(ExitCode.THRESHOLDS_CROSSED))


def _parse_stage(text: str) -> Any:
    from greenflag.load.engine.options import parse_stage

    return parse_stage(text)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Written whole or not at all (a temporary file renamed over it), so a failure keeps the previous file."""
    text = json.dumps(data, indent=2) + "\n"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text)
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"--summary-json {path}: cannot write: {exc.strerror or exc}") from None


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Load testing (k6-compatible thresholds and summary).", no_args_is_help=True)
    group.command("run", epilog=EPILOG)(run_command)
    app.add_typer(group, name="load")
