"""Run a load test: the executor plan, a once-a-second ticker feeding the sinks (thresholds, live progress),
the generator self-check, and the summary at the end."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from greenflag.load.engine import schedules as sch
from greenflag.load.engine.executors import DEFAULT_GRACEFUL_STOP, RunState, Scenario, run_plan
from greenflag.load.engine.selfcheck import SelfCheck
from greenflag.load.metrics.progress import Progress
from greenflag.load.metrics.series import Registry
from greenflag.load.metrics.snapshot import Snapshot
from greenflag.load.metrics.summary import build_summary
from greenflag.load.metrics.thresholds import Outcome, Threshold, evaluate

__all__ = ["RunConfig", "RunResult", "Sink", "run_load", "run_sync"]

T = TypeVar("T")


class Sink(Protocol):
    """Fed once a second while the run goes on (`add`) and once at the end (`flush`)."""

    def add(self) -> None: ...

    def flush(self) -> None: ...


@dataclass
class RunConfig:
    plan: sch.ExecutorConfig
    thresholds: list[Threshold] = field(default_factory=list)
    graceful_stop: float = DEFAULT_GRACEFUL_STOP
    progress: bool = True
    label: str = ""
    # more sinks, built once the run's registry exists (the time series, a live dashboard's feed)
    sink_factories: list[Callable[[Registry], Sink]] = field(default_factory=list)


@dataclass
class RunResult:
    summary: dict[str, Any]
    outcomes: list[Outcome]
    aborted: str | None

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


class ThresholdWatch:
    """Evaluates thresholds every second; aborts the run for `abort_on_fail` ones (after `delay_abort_eval`)."""

    def __init__(self, thresholds: list[Threshold], registry: Registry, state: RunState) -> None:
        self.thresholds = thresholds
        self.registry = registry
        self.state = state
        self.last: list[Outcome] = []

    def evaluate(self) -> list[Outcome]:
        elapsed = time.perf_counter() - self.registry.start
        self.last = evaluate(self.thresholds, Snapshot(self.registry, elapsed).value)
        return self.last

    def add(self) -> None:
        if not self.thresholds:
            return
        elapsed = time.perf_counter() - self.registry.start
        for outcome in self.evaluate():
            threshold = outcome.threshold
            if not outcome.ok and threshold.abort_on_fail and elapsed >= threshold.delay_abort_eval:
                self.state.abort(f"threshold {threshold.key}: {threshold.source} crossed (value {outcome.value:.4g})")

    def flush(self) -> None:
        self.evaluate()


async def _tick(registry: Registry, sinks: list[Sink], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):  # on whole wall-clock seconds: the time series' intervals
            await asyncio.wait_for(stop.wait(), timeout=1.0 - time.time() % 1.0)
        registry.fold()
        for sink in sinks:
            sink.add()


def _stop_on_signals(state: RunState) -> list[int]:
    """SIGINT/SIGTERM end the run early but gracefully: running iterations get the graceful stop, the summary is
    written; another one during the graceful stop interrupts what still runs at once."""
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, state.stop_signal, f"stopped by {signal.Signals(signum).name}")
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or no signals here
            continue
        installed.append(signum)
    return installed


async def run_load(
    make_scenario: Callable[[Registry], Scenario], config: RunConfig, *, sinks: list[Sink] | None = None
) -> RunResult:
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
    signals = _stop_on_signals(state)
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


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is installed, else on the default asyncio loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        return asyncio.run(coro)
    return uvloop.run(coro)
