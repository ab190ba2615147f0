"""What a run is made of and what it gives back: its scenarios (k6's `options.scenarios`: each an executor plan, a
start time, tags and the VUs to run), how it is spread over workers, its thresholds and sinks; the result.
Shared by the runner (one process), the coordinator (several workers or scenarios) and the workers."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from greenflag.load.engine import schedules as sch
from greenflag.load.engine.executors import DEFAULT_GRACEFUL_STOP, RunState, Scenario
from greenflag.load.metrics.series import Registry, Tags
from greenflag.load.metrics.snapshot import Snapshot
from greenflag.load.metrics.thresholds import Outcome, Threshold, evaluate

__all__ = [
    "BACKENDS",
    "FAILURE_POLICIES",
    "Distribution",
    "RunConfig",
    "RunResult",
    "ScenarioRun",
    "Sink",
    "ThresholdWatch",
    "run_sync",
    "stop_on_signals",
]

T = TypeVar("T")
BACKENDS = ("local", "ray")
FAILURE_POLICIES = ("abort", "continue")


class Sink(Protocol):
    """Fed once a second while the run goes on (`add`) and once at the end (`flush`)."""

    def add(self) -> None: ...

    def flush(self) -> None: ...


@dataclass
class ScenarioRun:
    """One scenario of a run: an executor plan and the VUs it runs, from `start_time` seconds after the run's
    start; its metrics carry `tags` (`scenario` among them when a run has several)."""

    name: str
    plan: sch.ExecutorConfig
    make: Callable[[Registry], Scenario]
    start_time: float = 0.0
    graceful_stop: float = DEFAULT_GRACEFUL_STOP
    tags: Tags = ()
    exec: str | None = None  # the User class (or YAML flows) it runs; None: all of the file's

    @property
    def end(self) -> float:
        """When its iterations stop starting, in seconds from the run's start."""
        return self.start_time + sch.total_duration(self.plan)


@dataclass
class Distribution:
    """How a run is spread: `workers` processes (local) or Ray actors, each running its part of every scenario.
    `build(payload)` (a module-level function, so that it can be sent to another process) rebuilds the
    scenarios in a worker: the same file loaded, the same options."""

    workers: int = 1
    backend: str = "local"
    address: str | None = None  # Ray: auto, ray://HOST:PORT, or None (a Ray instance of this machine)
    on_worker_failure: str = "abort"
    build: Callable[[Any], list[ScenarioRun]] | None = None
    payload: Any = None
    ship_dir: str | None = None  # Ray with an address: the scenario's directory, sent to the cluster's workers
    notes: list[str] = field(default_factory=list)


@dataclass
class RunConfig:
    plan: sch.ExecutorConfig
    thresholds: list[Threshold] = field(default_factory=list)
    graceful_stop: float = DEFAULT_GRACEFUL_STOP
    progress: bool = True
    label: str = ""
    # more sinks, built once the run's registry exists (the time series, a live dashboard's feed)
    sink_factories: list[Callable[[Registry], Sink]] = field(default_factory=list)
    # several scenarios (k6's options.scenarios); empty: one, `plan`, with the scenario given to run_load
    scenarios: list[ScenarioRun] = field(default_factory=list)
    distribution: Distribution = field(default_factory=Distribution)

    @property
    def total_duration(self) -> float:
        if not self.scenarios:
            return sch.total_duration(self.plan)
        return max(run.end for run in self.scenarios)


@dataclass
class RunResult:
    summary: dict[str, Any]
    outcomes: list[Outcome]
    aborted: str | None
    worker_failures: list[str] = field(default_factory=list)  # one line per worker that died
    failure_policy: str = "abort"

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


def stop_on_signals(on_signal: Callable[[str], None]) -> list[int]:
    """SIGINT/SIGTERM end the run early but gracefully (`on_signal(reason)`: running iterations get the graceful
    stop, the summary is written; another one during the graceful stop interrupts what still runs at once).
    Returns the signals handled, for `loop.remove_signal_handler`."""
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, f"stopped by {signal.Signals(signum).name}")
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or no signals here
            continue
        installed.append(signum)
    return installed


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is installed, else on the default asyncio loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        return asyncio.run(coro)
    return uvloop.run(coro)
