"""`greenflag rollout plan`: the steps, the analysis traffic and the time to detect faults, without starting anything.
`rollout start` prints the same estimate before it starts a rollout that has a stable version."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer

from greenflag.errors import UsageError

__all__ = ["forecast_for", "print_forecast", "register"]

EPILOG = """\
Examples:

  greenflag rollout plan -f greenflag.yaml
  greenflag rollout plan -f greenflag.yaml --user-rate 5 --error-rate 5% --json

The estimate is a simulation of faulty canaries judged by the same tests as the live analysis (fixed seed): the
users' rate comes from the router's recent stats (or --user-rate), the analysis traffic from analysis.traffic, the
fault sizes from analysis.detect (default: the error-rate margin, twice the latency margin).
"""


def _fraction(text: str) -> float:
    value = text.strip()
    try:
        number = float(value[:-1]) / 100.0 if value.endswith("%") else float(value)
    except ValueError:
        raise UsageError(f"--error-rate {text!r}: expected a percentage such as 5% or a fraction, 0.05") from None
    if not 0 < number < 1:
        raise UsageError(f"--error-rate {text!r}: expected more than 0 % and less than 100 %")
    return number


def forecast_for(
    spec: Any, *, user_rate: float | None = None, error_rate: float | None = None, latency_ms: float | None = None
) -> dict[str, Any]:
    """The plan of `spec` as `rollout plan --json` prints it, with the router's recent traffic (when reachable)."""
    from greenflag.rollout.forecast import forecast, gather_facts
    from greenflag.traffic.registry import make_router

    detect = {k: v for k, v in (("error_rate", error_rate), ("latency_ms", latency_ms)) if v is not None}
    if detect:
        analysis = spec.analysis.model_copy(update={"detect": spec.analysis.detect.model_copy(update=detect)})
        spec = spec.model_copy(update={"analysis": analysis})

    async def facts() -> Any:
        base = spec.source.parent if spec.source is not None else None
        try:
            router: Any = make_router(spec.router, base_dir=base)
        except (ValueError, OSError) as exc:
            router = _Unavailable(f"router unavailable ({exc})")
        try:
            return await gather_facts(router, user_rate=user_rate)
        finally:
            await router.aclose()

    return forecast(spec, asyncio.run(facts()))


class _Unavailable:
    """A router that cannot be built (no token file yet, …): its stats fail with the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def stats(self, window_s: float) -> Any:
        raise ConnectionError(self.reason)

    async def aclose(self) -> None:
        return None


def print_forecast(report: dict[str, Any], *, err: bool = False) -> None:
    from greenflag.rollout.forecast import render

    for line in render(report):
        typer.echo(line, err=err)


def plan(
    file: Path = typer.Option(Path("greenflag.yaml"), "-f", "--file", help="The release spec (greenflag.yaml)."),
    user_rate: float | None = typer.Option(
        None, "--user-rate", min=0, help="Users' requests per second to assume (default: the router's recent rate)."
    ),
    error_rate: str | None = typer.Option(None, "--error-rate", help="Error-rate fault to size, e.g. 5% (+5 points)."),
    latency_ms: float | None = typer.Option(None, "--latency-ms", min=0.001, help="Latency fault to size, in ms."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON (keys: docs/rollouts.md)."),
) -> None:
    """Show a rollout's steps, its analysis traffic, and how long its analysis would take to catch the configured
    faults (error rate, latency) at the traffic it will see — with the worst number of users' requests a faulty
    version serves first. Starts nothing."""
    from greenflag.config import load_spec
    from greenflag.rollout.validate import check_analysis

    spec = load_spec(file)
    check_analysis(spec)
    fault = _fraction(error_rate) if error_rate is not None else None
    report = forecast_for(spec, user_rate=user_rate, error_rate=fault, latency_ms=latency_ms)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_forecast(report)


def register(group: typer.Typer) -> None:
    group.command("plan", epilog=EPILOG)(plan)
