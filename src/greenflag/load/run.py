"""`greenflag load run` as a function: resolve the target (URL, Python or YAML scenario), validate every
option before any traffic, run, print the summary."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from greenflag.errors import UsageError
from greenflag.load.engine.executors import DEFAULT_GRACEFUL_STOP, Scenario
from greenflag.load.engine.options import PlanOptions, build_plan
from greenflag.load.engine.runner import RunConfig, RunResult, run_load, run_sync
from greenflag.load.engine.schedules import Stage, describe
from greenflag.load.http.client import parse_target
from greenflag.load.metrics.series import Registry
from greenflag.load.metrics.snapshot import validate_thresholds
from greenflag.load.metrics.summary import render_text
from greenflag.load.metrics.thresholds import Threshold, ThresholdError, parse_cli_threshold, parse_thresholds
from greenflag.load.scenarios.quick import UrlScenario
from greenflag.units import format_duration

__all__ = ["LoadRequest", "LoadedScenario", "prepare", "run_request"]


class LoadedScenario(Protocol):
    """What a scenario file (Python or YAML) gives the runner."""

    options: PlanOptions  # executor options declared in the file (k6-style `options`)
    thresholds: dict[str, Any]  # thresholds declared in the file, k6 form
    custom_metrics: bool  # the file may define metrics of its own (thresholds on unknown names allowed)

    def make_scenario(self, registry: Registry) -> Scenario: ...


@dataclass
class LoadRequest:
    target: str
    vus: int | None = None
    duration: float | None = None
    rate: float | None = None
    max_vus: int | None = None
    executor: str | None = None
    stages: tuple[Stage, ...] = ()
    iterations: int | None = None
    method: str = "GET"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    timeout: float = 60.0
    thresholds: list[str] = field(default_factory=list)
    host: str | None = None
    graceful_stop: float | None = None  # None: 30 s (k6's default)
    progress: bool = True


def _load_file(path: Path, host: str | None) -> LoadedScenario:
    if not path.exists():
        raise UsageError(f"{path}: no such file (TARGET is a URL, a .py scenario or a .yaml scenario)")
    if path.suffix == ".py":
        from greenflag.load.scenarios.script import load_python

        return load_python(path, host=host)
    if path.suffix in (".yaml", ".yml"):
        from greenflag.load.scenarios.flowrun import load_yaml_flows

        return load_yaml_flows(path, host=host)
    raise UsageError(f"{path}: TARGET is a URL, a .py scenario or a .yaml scenario")


def prepare(request: LoadRequest) -> tuple[Callable[[Registry], Scenario], RunConfig]:
    """Validate everything (exit 2 on any problem) and return what run_load needs. Sends no traffic."""
    cli = PlanOptions(
        executor=request.executor,
        vus=request.vus,
        duration=request.duration,
        rate=request.rate,
        max_vus=request.max_vus,
        stages=request.stages,
        iterations=request.iterations,
        graceful_stop=request.graceful_stop,
    )
    thresholds: list[Threshold] = []
    is_url = "://" in request.target
    loaded: LoadedScenario | None = None
    if is_url:
        try:
            target = parse_target(request.target)
        except ValueError as exc:
            raise UsageError(f"TARGET: {exc}") from None
        plan_options = cli
    else:
        loaded = _load_file(Path(request.target), request.host)
        plan_options = loaded.options.merged(cli)
        try:
            thresholds = parse_thresholds(loaded.thresholds)
        except ThresholdError as exc:
            raise UsageError(f"{request.target}: options.thresholds: {exc}") from None
    try:
        thresholds += [parse_cli_threshold(text) for text in request.thresholds]
    except ThresholdError as exc:
        raise UsageError(f"--threshold {exc}") from None
    problems = validate_thresholds(thresholds, allow_custom=loaded is not None and loaded.custom_metrics)
    if problems:
        raise UsageError("--threshold " + "; ".join(problems))
    try:
        plan = build_plan(plan_options)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    graceful_stop = plan_options.graceful_stop
    if loaded is not None:
        make = loaded.make_scenario
    else:

        def make(registry: Registry) -> Scenario:
            return UrlScenario(
                target,
                registry,
                method=request.method,
                headers=request.headers,
                body=request.body,
                timeout=request.timeout,
            )

    config = RunConfig(
        plan=plan,
        thresholds=thresholds,
        graceful_stop=DEFAULT_GRACEFUL_STOP if graceful_stop is None else graceful_stop,
        progress=request.progress,
        label=request.target,
    )
    return make, config


def run_request(request: LoadRequest, *, out: Any = None) -> RunResult:
    make, config = prepare(request)
    stream = out or sys.stdout
    plan = f"{describe(config.plan)}, graceful stop {format_duration(config.graceful_stop)}"
    print(f"\n  greenflag load run {request.target}\n  {plan}\n", file=stream, flush=True)
    result = run_sync(run_load(make, config))
    print(render_text(result.summary) + "\n", file=stream, flush=True)
    if result.aborted:
        print(f"  ABORTED: {result.aborted}\n", file=stream, flush=True)
    return result
