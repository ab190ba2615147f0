"""`greenflag analysis run`: judge a canary against live sources, streaming measurements; exit 0 or 3.
`greenflag analysis replay`: the same analysis over recorded router stats (when, and on which rule, it decides)."""

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


def _traffic(spec: Any, router: Any, canary: str, stable: str | None, duration: float | None, file: Path) -> Any:
    """`analysis.traffic`, sent to the canary and the stable while the analysis runs (None when not configured)."""
    from greenflag.analysis.traffic import AnalysisTraffic, check_journeys
    from greenflag.errors import ConfigError
    from greenflag.traffic.base import SyntheticTagging

    if spec.analysis.traffic is None:
        return None
    url = spec.router.public_url()
    if url is None:
        raise UsageError(f"{file}: analysis.traffic: the router's address is unknown (router.listen)")
    try:
        check_journeys(spec.analysis.traffic, file.resolve().parent)
    except ConfigError as exc:
        raise UsageError(f"{file}: {exc}") from None
    tag = router.synthetic_tag() if isinstance(router, SyntheticTagging) else None
    targets = {"canary": [canary], "stable": [stable] if stable else []}
    traffic = AnalysisTraffic(spec.analysis.traffic, router_url=url, route_header=spec.router.route_header, tag=tag,
                              targets=targets, duration_s=duration, base_dir=file.resolve().parent)  # fmt: skip
    traffic.start()
    typer.echo(f"note: {traffic.describe()}", err=True)
    return traffic


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
        traffic = _traffic(spec, router, canary, stable, duration, file)
        try:
            verdict = await session.run(duration, lambda m: _print(m, as_json))
        finally:
            if traffic is not None:
                await traffic.stop("the analysis ended")
                sent = ", ".join(f"{n} {c['requests']}" for n, c in traffic.counts().items())
                typer.echo(f"note: analysis traffic sent: {sent}", err=True)
    finally:
        if router is not None:
            await router.aclose()
    data = summary(session)
    return int(ExitCode.OK if verdict is Verdict.SUCCESSFUL else ExitCode.ROLLED_BACK), data


REPLAY_EPILOG = """\
Examples:

  greenflag router stats --export stats.jsonl -f greenflag.yaml        # the router's last 5 minutes, per second
  greenflag analysis replay -f greenflag.yaml --stats stats.jsonl --canary green --stable blue

  greenflag analysis replay -f greenflag.yaml --stats stats.jsonl --canary green --from +1s --duration 5s --json

Runs greenflag.yaml's analysis (interval, the built-in rules, router metrics, analysis.traffic.judge) over the
recorded seconds, as a rollout's analysis run starting at --from would have, and says what it would have done:
rolled back (when, on which rule, how long after the canary's first failing response), paused or promoted.
Exit codes: 0 it would have passed; 3 rolled back, or Inconclusive; 2 bad input.
"""


def _guess(recording: Any, canary: str | None, stable: str | None) -> tuple[str, str | None]:
    names = recording.backends
    for option, name in (("--canary", canary), ("--stable", stable)):
        if name is not None and name.lower() != "none" and name not in names:
            raise UsageError(f"{option}: {name!r} is not in the recording (backends: {', '.join(names) or 'none'})")
    if canary is None:  # the backend that appeared last
        seen = sorted((recording.first_seen(n) or 0.0, n) for n in names)
        if len(seen) < 2:
            raise UsageError("--canary: name the canary backend (the recording has fewer than two backends)")
        if seen[-1][0] == seen[-2][0]:
            tied = ", ".join(n for t, n in seen if t == seen[-1][0])
            raise UsageError(f"--canary: name the canary backend ({tied} appear in the same second)")
        canary = seen[-1][1]
    if stable is None:
        busy = ((recording.window(n, 0, float("inf")).requests, n) for n in names if n != canary)
        others = sorted(busy, reverse=True)
        stable = others[0][1] if others else None
    elif stable.lower() == "none":
        stable = None
    return canary, stable


def _start_time(text: str | None, recording: Any, canary: str) -> float:
    """--from: Unix seconds, or +DURATION after the recording's first second; default: the canary's first request."""
    from greenflag.units import parse_duration

    first = recording.start or 0.0
    if text is None:
        return recording.first_seen(canary) or first
    if text.startswith("+"):
        return first + option_duration("--from", text[1:])
    try:
        return float(text)
    except ValueError:
        try:
            return first + parse_duration(text)
        except ValueError:
            raise UsageError(f"--from {text!r}: expected Unix seconds or +DURATION (e.g. +30s)") from None


def _replay(file: Path, stats: Path, canary: str | None, stable: str | None, start: str | None,
            duration: float | None) -> Any:  # fmt: skip
    from greenflag.analysis.recording import Recording
    from greenflag.analysis.replay import replay
    from greenflag.config import load_spec
    from greenflag.rollout.validate import check_analysis

    spec = load_spec(file)
    check_analysis(spec)
    try:
        with stats.open(encoding="utf-8") as fh:
            recording = Recording.from_lines(fh)
    except OSError as exc:
        raise UsageError(f"--stats {stats}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"--stats {stats}: {exc}") from None
    canary, stable = _guess(recording, canary, stable)
    return replay(spec.analysis, recording, canary=canary, stable=stable,
                  start=_start_time(start, recording, canary), duration=duration)  # fmt: skip


def _say(result: Any) -> str:
    import datetime as dt

    if result.decided_at is None:
        return f"the analysis would have {result.outcome} ({result.verdict})"
    when = dt.datetime.fromtimestamp(result.decided_at, dt.UTC).strftime("%H:%M:%S")
    text = f"the rollout would have {result.outcome} at {when} UTC, {result.decided_at - result.start:.1f}s after"
    text += " the analysis began"
    if result.first_error is not None and result.outcome == "rolled back":
        text += f", {result.decided_at - result.first_error:.1f}s after the canary's first failing response"
    text += f" ({result.verdict})"
    return text + (f": {result.message}" if result.message else "")


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

    @analysis_app.command("replay", epilog=REPLAY_EPILOG)
    def replay_cmd(
        file: Path = typer.Option(Path("greenflag.yaml"), "-f", "--file", help="greenflag.yaml (its analysis)."),
        stats: Path = typer.Option(..., "--stats", help="Recorded router stats (`router stats --export`)."),
        canary: str | None = typer.Option(None, "--canary", help="Backend under test (default: the last to appear)."),
        stable: str | None = typer.Option(
            None, "--stable", help="Baseline backend (default: the busiest other one; 'none' = absolute limits)."
        ),
        start: str | None = typer.Option(
            None, "--from", help="When the analysis began: Unix seconds or +30s (default: the canary's first request)."
        ),
        duration: str | None = typer.Option(None, "--duration", help="How long it runs (default: to the end)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per measurement, then a summary."),
    ) -> None:
        """Replay the analysis over recorded router stats and say when, and on which rule, the rollout would have
        rolled back — or that it would have paused or promoted. Exit 0 passed; 3 rolled back or Inconclusive."""
        from greenflag.analysis.verdicts import Verdict

        limit = option_duration("--duration", duration) if duration is not None else None
        result = _replay(file, stats, canary, stable, start, limit)
        for m in result.measurements:
            _print(m, as_json)
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        if as_json:
            typer.echo(json.dumps({"summary": result.to_json()}))
        else:
            typer.echo(_say(result))
        raise typer.Exit(int(ExitCode.OK if result.verdict is Verdict.SUCCESSFUL else ExitCode.ROLLED_BACK))
