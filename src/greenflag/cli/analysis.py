"""`greenflag analysis run`: judge a canary against live sources, streaming measurements; exit 0 or 3."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer

from greenflag.cli.common import option_duration
from greenflag.errors import ExitCode, UsageError

__all__ = ["register"]

EPILOG = """\
Examples:

  greenflag analysis run -f greenflag.yaml --canary green --stable blue --duration 60s

  greenflag analysis run -f greenflag.yaml --canary green --duration 60s --json > analysis.json   # CI: exit 0 or 3

Metrics come from greenflag.yaml's `analysis:` section; with `analysis.defaults: true` (the default) the built-in
rules judge the canary against the stable backend: its error rate (above 1 %, or worse than the stable's + a
margin: a sequential probability ratio test) and its latency (p95 above 3 s, or slower than the stable + a
margin: Mann-Whitney at 98 %).
The run ends at the first Failed, Error or Inconclusive verdict, when every metric with a `count` is complete,
or after --duration. Exit codes: 0 Successful; 3 Failed, Error or Inconclusive; 2 bad input.
"""


def _pick_backends(weights: dict[str, int] | None, canary: str | None, stable: str | None) -> tuple[str, str | None]:
    """Default canary: the backend with the smallest non-zero weight; stable: the one with the largest."""
    live = sorted(((w, n) for n, w in (weights or {}).items() if w > 0), key=lambda t: (t[0], t[1]))
    if canary is None:
        if len(live) < 2:
            raise UsageError("--canary: name the canary backend (the router does not split traffic between two)")
        canary = live[0][1]
    if stable is None:
        others = [n for _, n in reversed(live) if n != canary]
        stable = others[0] if others else None
    elif stable.lower() == "none":
        stable = None
    return canary, stable


def _print(m: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"measurement": m.to_dict()}), err=False)
        return
    typer.echo(f"{m.verdict:<12} {m.message}")


async def _run(
    file: Path, canary: str | None, stable: str | None, duration: float | None, as_json: bool
) -> tuple[int, dict[str, Any]]:
    from greenflag.analysis.run import AnalysisRun, build_providers, summary
    from greenflag.analysis.verdicts import Verdict
    from greenflag.clock import SystemClock
    from greenflag.config import load_spec
    from greenflag.traffic.base import RouterStats
    from greenflag.traffic.registry import make_router

    spec = load_spec(file)
    router: Any = None
    try:
        router = make_router(spec.router, base_dir=file.resolve().parent)
    except (ValueError, OSError) as exc:
        if spec.analysis.defaults or any(m.provider == "router" for m in spec.analysis.metrics):
            raise UsageError(f"{file}: router: {exc}") from None
    try:
        weights = None
        if canary is None or stable is None:
            try:
                weights = await router.observe() if router is not None else None
            except ConnectionError as exc:
                raise UsageError(f"{file}: router: {exc}") from None
        canary, stable = _pick_backends(weights, canary, stable)
        stats = router if isinstance(router, RouterStats) else None
        session = AnalysisRun(spec.analysis, build_providers(spec.analysis, router=stats), canary, stable,
                              SystemClock(), latency=spec.router.times_requests)  # fmt: skip
        for note in session.notes:
            typer.echo(f"note: {note}", err=True)
        if duration is None and (spec.analysis.defaults or any(m.count is None for m in spec.analysis.metrics)):
            duration = 60.0
        verdict = await session.run(duration, lambda m: _print(m, as_json))
    finally:
        if router is not None:
            await router.aclose()
    data = summary(session)
    return int(ExitCode.OK if verdict is Verdict.SUCCESSFUL else ExitCode.ROLLED_BACK), data


def register(app: typer.Typer) -> None:
    analysis_app = typer.Typer(help="Canary analysis: metrics, conditions and canary-vs-stable statistics.",
                               no_args_is_help=True)  # fmt: skip
    app.add_typer(analysis_app, name="analysis")

    @analysis_app.command("run", epilog=EPILOG)
    def run(
        file: Path = typer.Option(Path("greenflag.yaml"), "-f", "--file", help="greenflag.yaml (analysis, router)."),
        canary: str | None = typer.Option(None, "--canary", help="Backend under test (default: lowest weight)."),
        stable: str | None = typer.Option(
            None, "--stable", help="Baseline backend (default: highest weight; 'none' = absolute limits only)."
        ),
        duration: str | None = typer.Option(
            None, "--duration", help="Stop after this long (default 60s when a metric has no count)."
        ),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per measurement, then a summary."),
    ) -> None:
        """Run the analysis against live sources; exit 0 on Successful, 3 on Failed, Error or Inconclusive (a metric
        still undecided when the run ends: not enough evidence is not a pass)."""
        limit = option_duration("--duration", duration) if duration is not None else None
        code, data = asyncio.run(_run(file, canary, stable, limit, as_json))
        if as_json:
            typer.echo(json.dumps({"summary": {k: v for k, v in data.items() if k != "measurements"}}))
        else:
            typer.echo(f"analysis {data['verdict']}" + (f": {data['reason']}" if data["reason"] else ""))
        raise typer.Exit(code)
