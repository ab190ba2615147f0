"""Run a load test: the executor plan, a once-a-second ticker feeding the sinks (thresholds, live progress),
the generator self-check, and the summary at the end.

One scenario in one process runs here, straight into the registry that its sinks read. Several scenarios
(k6's `options.scenarios`), several workers or the Ray backend go through the coordinator (`coordinator.py`): the
same sinks on a registry merged from the workers' deltas.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable

from greenflag.load.engine import schedules as sch
from greenflag.load.engine.backends import links_for
from greenflag.load.engine.coordinator import coordinate
from greenflag.load.engine.executors import RunState, Scenario, run_plan
from greenflag.load.engine.runconfig import (
    RunConfig,
    RunResult,
    ScenarioRun,
    Sink,
    ThresholdWatch,
    run_sync,
    stop_on_signals,
)
from greenflag.load.engine.selfcheck import SelfCheck
from greenflag.load.metrics.progress import Progress
from greenflag.load.metrics.series import Registry
from greenflag.load.metrics.summary import build_summary

__all__ = ["RunConfig", "RunResult", "ScenarioRun", "Sink", "ThresholdWatch", "run_load", "run_sync"]


async def _tick(registry: Registry, sinks: list[Sink], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):  # on whole wall-clock seconds: the time series' intervals
            await asyncio.wait_for(stop.wait(), timeout=1.0 - time.time() % 1.0)
        registry.fold()
        for sink in sinks:
            sink.add()


def _spread(config: RunConfig) -> bool:
    """Whether the run goes through the coordinator: several scenarios, workers, or Ray."""
    distribution = config.distribution
    if len(config.scenarios) > 1 or distribution.workers > 1 or distribution.backend != "local":
        return True
    return any(run.start_time > 0 or run.tags for run in config.scenarios)


async def run_load(
    make_scenario: Callable[[Registry], Scenario], config: RunConfig, *, sinks: list[Sink] | None = None
) -> RunResult:
    """Run `config`: one scenario (`make_scenario` with `config.plan`) in this process, or through the coordinator
    when the run has several scenarios or workers."""
    if _spread(config):
        if not config.scenarios:
            config.scenarios = [ScenarioRun("default", config.plan, make_scenario, graceful_stop=config.graceful_stop)]
        return await coordinate(config, links_for(config), sinks=sinks)
    started_at = dt.datetime.now(dt.UTC)
    registry = Registry(start=time.perf_counter())
    scenario = make_scenario(registry)
    state = RunState(registry, graceful_stop=config.graceful_stop)
    watch = ThresholdWatch(config.thresholds, registry, state)
    all_sinks: list[Sink] = [watch, *(sinks or []), *(make(registry) for make in config.sink_factories)]
    progress: Progress | None = None
    if config.progress:
        progress = Progress(registry, sch.total_duration(config.plan))
        progress.start()
        all_sinks.append(progress)
    check = SelfCheck()
    check.start()
    ticker = asyncio.ensure_future(_tick(registry, all_sinks, state.over))  # through the graceful stop
    signals = stop_on_signals(state.stop_signal)
    try:
        await run_plan(config.plan, scenario, state)
    finally:
        state.stopping.set()
        state.over.set()
        await ticker
        for sink in all_sinks:
            sink.flush()
        loop = asyncio.get_running_loop()
        for signum in signals:
            loop.remove_signal_handler(signum)
    elapsed = time.perf_counter() - registry.start
    open_model = isinstance(config.plan, sch.ConstantArrivalRate | sch.RampingArrivalRate)
    generator = await check.stop(state.dispatch_lag if open_model else None)
    summary = build_summary(
        registry,
        started_at=started_at,
        elapsed_s=elapsed,
        outcomes=watch.last,
        extra={
            "executor": {
                "name": config.plan.name,
                "plan": sch.describe(config.plan),
                "graceful_stop_s": config.graceful_stop,
            },
            "target": config.label,
            "aborted": state.abort_reason,
            "generator_saturated": generator.pop("saturated"),
            "generator": generator,
        },
    )
    return RunResult(summary, watch.last, state.abort_reason)
