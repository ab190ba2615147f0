"""`greenflag load run` as a function: resolve the target (URL, Python or YAML scenario), validate every
option before any traffic (including whether the VUs fit in memory), run, print the summary."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from greenflag.errors import UsageError
from greenflag.load.engine import schedules as sch
from greenflag.load.engine.capacity import fd_problem, memory_problem
from greenflag.load.engine.executors import DEFAULT_GRACEFUL_STOP, Scenario
from greenflag.load.engine.options import PlanOptions, build_plan
from greenflag.load.engine.runner import RunConfig, RunResult, run_load, run_sync
from greenflag.load.engine.schedules import Stage, describe
from greenflag.load.engine.selfcheck import machine_capacity, raise_fd_limit
from greenflag.load.http.head import Target, build_request, parse_target
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
    graceful_stop: float | None = None  # None: the scenario file's, else 30 s (k6's default)
    env: list[tuple[str, str]] = field(default_factory=list)  # -e KEY=VALUE: set before the scenario loads
    progress: bool = True
    sink_factories: list[Callable[[Registry], Any]] = field(default_factory=list)  # e.g. the time series


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


def _vus_option(request: LoadRequest, plan: sch.ExecutorConfig, from_file: bool) -> str:
    """The option that set the plan's most VUs, as the user wrote it (command line or the file's options)."""
    if isinstance(plan, sch.ConstantArrivalRate | sch.RampingArrivalRate) and plan.max_vus > plan.pre_allocated_vus:
        cli, key = "--max-vus", "max_vus"
    elif isinstance(plan, sch.RampingVUs):
        cli, key = "--stage", "stages"
    else:
        cli, key = "--vus", "vus"
    given = {"max_vus": request.max_vus, "stages": request.stages, "vus": request.vus}[key]
    return cli if given or not from_file else f"{request.target}: options.{key}"


def check_capacity(request: LoadRequest, plan: sch.ExecutorConfig, *, url: bool) -> None:
    """Refuse (UsageError) a plan whose VUs cannot fit in memory or in the open-files limit; raise the soft
    open-files limit when the hard one allows."""
    vus = sch.max_vus(plan)
    capacity = machine_capacity()
    problem = memory_problem(vus, "url" if url else "scenario", capacity) or fd_problem(vus, capacity)
    if problem is not None:
        raise UsageError(f"{_vus_option(request, plan, not url)}: {problem}")
    raise_fd_limit(vus + 64)


def _check_request(request: LoadRequest, target: Target) -> None:
    """URL mode: the request head is built once, here, so a method or header that would make it malformed is
    refused before any traffic, naming the option."""
    try:
        build_request(request.method, target, headers=request.headers, body=request.body)
    except ValueError as exc:
        option = "--method" if str(exc).startswith("method") else "--header"
        raise UsageError(f"{option}: {exc}") from None


def apply_env(pairs: list[tuple[str, str]]) -> None:
    """k6's -e/--env: the scenario process's environment, set before the scenario file is loaded, so the
    script (module level, tasks, hooks) and the libraries it uses read them from os.environ."""
    for key, value in pairs:
        os.environ[key] = value


def prepare(request: LoadRequest) -> tuple[Callable[[Registry], Scenario], RunConfig]:
    """Validate everything (exit 2 on any problem) and return what run_load needs. Sends no traffic."""
    apply_env(request.env)
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
        _check_request(request, target)
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
    check_capacity(request, plan, url=loaded is None)
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
        sink_factories=list(request.sink_factories),
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
