"""The coordinator of a run spread over workers (processes of this machine, Ray actors) or over several scenarios:
it opens every worker, starts them at one wall-clock instant, merges their deltas into one registry as they come
(`metrics/delta.py`: exact HDR merges), and runs the very sinks a single process runs on that registry — the
thresholds (so a threshold is judged on all the traffic, not per worker), `abort_on_fail`, the live line, the time
series (fed the deltas themselves, interval by interval) — then writes the same summary, with a `workers` section
(and `scenarios` when there are several).

A worker that dies is reported at once (stderr, then the summary's `workers` and `warnings`); with the `abort`
policy the run stops (the other workers end gracefully), with `continue` it goes on without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from greenflag.errors import UsageError
from greenflag.hdr import Histogram
from greenflag.load.engine import schedules as sch
from greenflag.load.engine.delivery import Inbox
from greenflag.load.engine.executors import RunState
from greenflag.load.engine.links import Link, WorkerDied, WorkerRefused
from greenflag.load.engine.runconfig import RunConfig, RunResult, ScenarioRun, Sink, ThresholdWatch, stop_on_signals
from greenflag.load.engine.selfcheck import saturated
from greenflag.load.metrics.delta import Merger
from greenflag.load.metrics.progress import Progress
from greenflag.load.metrics.series import Registry, Tags
from greenflag.load.metrics.summary import build_summary

__all__ = ["coordinate", "scenario_tags"]

START_MARGIN_S = 0.5  # between "every worker is ready" and the common start
FINISH_MARGIN_S = 30.0  # past the plan's end and graceful stop, a worker that has not finished is given up on
OPEN_TIMEOUT_S = 180.0  # a worker that is not ready (scenario loaded) by then is given up on


def scenario_tags(runs: list[ScenarioRun]) -> dict[str, Tags]:
    """The tags each scenario's metrics get when merged: `scenario` (when there are several) and its own tags."""
    several = len(runs) > 1
    out: dict[str, Tags] = {}
    for run in runs:
        tags = dict(run.tags)
        if several:
            tags["scenario"] = run.name
        out[run.name] = tuple(sorted(tags.items()))
    return out


@dataclass
class _Worker:
    link: Link
    sources: list[str]
    inbox: Inbox = field(default_factory=Inbox)
    status: str = "starting"  # running → finished | stopped | died
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    iterations: int = 0


class _Coordinator:
    def __init__(self, config: RunConfig, links: list[Link], sinks: list[Sink]) -> None:
        self.config = config
        self.runs = config.scenarios
        self.tags = scenario_tags(self.runs)
        self.registry = Registry(start=time.perf_counter())
        self.state = RunState(self.registry, graceful_stop=max(run.graceful_stop for run in self.runs))
        self.watch = ThresholdWatch(config.thresholds, self.registry, self.state)
        self.sinks: list[Sink] = [self.watch, *sinks, *(make(self.registry) for make in config.sink_factories)]
        self.series: list[Any] = [s for s in self.sinks if hasattr(s, "follow_deltas")]
        self.merger = Merger(self.registry)
        self.workers = [_Worker(link, [f"{link.name}/{run.name}" for run in self.runs]) for link in links]
        self.failures: list[str] = []
        self.policy = config.distribution.on_worker_failure

    # -- the run ---------------------------------------------------------------------------------------------
    async def run(self) -> RunResult:
        await self._open()
        epoch = time.time() + START_MARGIN_S
        self.registry.start = time.perf_counter() + (epoch - time.time())
        started_at = dt.datetime.fromtimestamp(epoch, dt.UTC)
        for series in self.series:
            series.follow_deltas(started=epoch)
            for worker in self.workers:
                for source in worker.sources:
                    series.add_source(source)
        if self.config.progress:
            progress = Progress(self.registry, self.config.total_duration)
            progress.start()
            self.sinks.append(progress)
        signals = stop_on_signals(self.state.stop_signal)
        over = asyncio.Event()
        ticker = asyncio.ensure_future(self._tick(over))
        relay = asyncio.ensure_future(self._relay())
        try:
            for worker in self.workers:
                await worker.link.start(epoch)
                worker.status = "running"
            await self._wait_for_workers()
        finally:
            over.set()
            relay.cancel()
            await ticker
            for sink in self.sinks:
                sink.flush()
            loop = asyncio.get_running_loop()
            for signum in signals:
                loop.remove_signal_handler(signum)
            await asyncio.gather(*(w.link.close() for w in self.workers), return_exceptions=True)
        elapsed = time.perf_counter() - self.registry.start
        return RunResult(self._summary(started_at, elapsed), self.watch.last, self.state.abort_reason, self.failures,
                         self.policy)  # fmt: skip

    async def _open(self) -> None:
        opening = [asyncio.ensure_future(w.link.open()) for w in self.workers]
        try:
            done, late = await asyncio.wait(opening, timeout=OPEN_TIMEOUT_S)
            for task in done:
                task.result()
            if late:
                raise UsageError(f"{len(late)} worker(s) were not ready after {OPEN_TIMEOUT_S:.0f} s")
        except BaseException as exc:
            for task in opening:
                task.cancel()
            await asyncio.gather(*(w.link.close() for w in self.workers), return_exceptions=True)
            if isinstance(exc, WorkerRefused):
                if exc.exit_code == 2:
                    raise UsageError(str(exc)) from None
                raise RuntimeError(f"a worker could not start: {exc}") from None
            if isinstance(exc, WorkerDied):
                raise RuntimeError(f"a worker died while loading the scenario: {exc}") from None
            raise

    async def _wait_for_workers(self) -> None:
        pumps = {asyncio.ensure_future(self._pump(w)): w for w in self.workers}
        planned = self.registry.start + self.config.total_duration + self.state.graceful_stop + FINISH_MARGIN_S
        stopped_at: float | None = None
        while pumps:
            done, _ = await asyncio.wait(set(pumps), timeout=1.0)
            for task in done:
                pumps.pop(task)
            if self.state.stopping.is_set() and stopped_at is None:
                stopped_at = time.perf_counter()
            deadline = (
                planned if stopped_at is None else min(planned, stopped_at + self.state.graceful_stop + FINISH_MARGIN_S)
            )
            if pumps and time.perf_counter() > deadline:
                for task, worker in pumps.items():
                    task.cancel()
                    self._died(worker, "did not finish in time")
                await asyncio.gather(*pumps, return_exceptions=True)
                pumps.clear()

    async def _pump(self, worker: _Worker) -> None:
        try:
            async for message in worker.link.messages():
                if message[0] == "delta":
                    if worker.inbox.offer(int(message[1])):
                        self._apply(worker, message[2])
                    with contextlib.suppress(Exception):
                        await worker.link.control(("ack", worker.inbox.acked))
                elif message[0] == "done":
                    worker.info.update(message[1])
                    worker.status = "stopped" if message[1].get("stop_reason") else "finished"
                    missing = int(message[1].get("last_seq", 0)) - worker.inbox.acked
                    if missing > 0:
                        self._died(worker, f"ended with {missing} second(s) of metrics not delivered")
        except WorkerDied as exc:
            self._died(worker, str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a message that cannot be read is a broken worker, not a broken run
            self._died(worker, f"failed: {type(exc).__name__}: {exc}")
        finally:
            for source in worker.sources:
                self.merger.end(source)
                for series in self.series:
                    series.end_source(source)

    def _apply(self, worker: _Worker, parts: list[tuple[str, Any]]) -> None:
        for scenario, delta in parts:
            source = f"{worker.link.name}/{scenario}"
            self.merger.add(source, delta, self.tags.get(scenario, ()))
            for series in self.series:
                series.add_delta(source, delta)
            worker.requests += delta.requests
            worker.iterations += delta.iterations

    def _died(self, worker: _Worker, reason: str) -> None:
        if worker.status == "died":
            return
        worker.status, worker.error = "died", reason
        elapsed = time.perf_counter() - self.registry.start
        pid = worker.link.info.get("pid")
        who = f"{worker.link.name}" + (f" (pid {pid})" if pid else "")
        line = f"{who} {reason} at {max(0.0, elapsed):.1f}s"
        self.failures.append(line)
        then = "stopping the run" if self.policy == "abort" else "the run goes on without it"
        print(f"greenflag: {line}; {then} (--on-worker-failure {self.policy})", file=sys.stderr, flush=True)
        if self.policy == "abort":
            self.state.abort(f"{who} {reason}")

    async def _relay(self) -> None:
        """Tell every worker when the run is stopped (threshold abort, signal, failed worker), and to hurry."""
        await self.state.stopping.wait()
        await self._broadcast(("stop", self.state.abort_reason or "stopped"))
        await self.state.hurry.wait()
        await self._broadcast(("hurry",))

    async def _broadcast(self, message: tuple[Any, ...]) -> None:
        for worker in self.workers:
            if worker.status in ("starting", "running"):
                with contextlib.suppress(Exception):
                    await worker.link.control(message)

    async def _tick(self, over: asyncio.Event) -> None:
        while not over.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(over.wait(), timeout=1.0 - time.time() % 1.0)
            self.registry.fold()
            for sink in self.sinks:
                sink.add()

    # -- the summary -----------------------------------------------------------------------------------------
    def _summary(self, started_at: dt.datetime, elapsed: float) -> dict[str, Any]:
        runs = self.runs
        executor: dict[str, Any]
        if len(runs) == 1:
            executor = {"name": runs[0].plan.name, "plan": sch.describe(runs[0].plan)}
        else:
            executor = {"name": "scenarios", "plan": "; ".join(f"{r.name}: {sch.describe(r.plan)}" for r in runs)}
        executor["graceful_stop_s"] = self.state.graceful_stop
        generator = self._generator()
        extra: dict[str, Any] = {
            "executor": executor,
            "target": self.config.label,
            "aborted": self.state.abort_reason,
            "generator_saturated": generator.pop("saturated"),
            "generator": generator,
        }
        if len(runs) > 1:
            extra["scenarios"] = {run.name: self._scenario_stats(run, elapsed) for run in runs}
        distribution = self.config.distribution
        if distribution.workers > 1 or distribution.backend != "local":
            extra["workers"] = self._workers_section()
        summary = build_summary(self.registry, started_at=started_at, elapsed_s=elapsed, outcomes=self.watch.last,
                                extra=extra)  # fmt: skip
        if self.failures:
            summary["warnings"].append(
                {
                    "id": "worker_failed",
                    "count": len(self.failures),
                    "message": "; ".join(self.failures)
                    + ": what it measured until its last delivered second counts"
                    + (", and the run was stopped" if self.policy == "abort" else "; the run went on without it"),
                }
            )
        return summary

    def _scenario_stats(self, run: ScenarioRun, elapsed: float) -> dict[str, Any]:
        tags = self.tags[run.name]
        scope = self.registry.scopes.get(tags)
        reqs = self.registry.http_totals(tags)["reqs"]
        return {
            "executor": run.plan.name,
            "plan": sch.describe(run.plan),
            "exec": run.exec,
            "start_time_s": run.start_time,
            "graceful_stop_s": run.graceful_stop,
            "tags": dict(run.tags),
            "http_reqs": {"count": reqs, "rate": round(reqs / max(elapsed, 1e-9), 3)},
            "iterations": {"count": scope.iterations if scope else 0},
            "dropped_iterations": {"count": scope.dropped_iterations if scope else 0},
            "interrupted_iterations": {"count": scope.interrupted_iterations if scope else 0},
            "vus_max": {"value": scope.vus_max if scope else 0},
        }

    def _generator(self) -> dict[str, Any]:
        reports = [w.info["generator"] for w in self.workers if w.info.get("generator")]
        if not reports:
            return {"cpu_fraction": 0.0, "loop_lag_p99_ms": 0.0, "dispatch_lag_p99_ms": None, "saturated": False}
        lag = Histogram()
        open_model = False
        for worker in self.workers:
            data = worker.info.get("dispatch_lag")
            if data:
                open_model = True
                lag.merge(Histogram.from_dict(data))
        cpu = max(float(r["cpu_fraction"]) for r in reports)
        loop_lag = max(float(r["loop_lag_p99_ms"]) for r in reports)
        dispatch = round(lag.percentile(99) / 1000.0, 3) if open_model and lag.count else None
        return {
            "cpu_fraction": cpu,
            "loop_lag_p99_ms": loop_lag,
            "dispatch_lag_p99_ms": dispatch,
            "saturated": any(bool(r["saturated"]) for r in reports) or saturated(cpu, loop_lag, dispatch),
        }

    def _workers_section(self) -> dict[str, Any]:
        distribution = self.config.distribution
        each = []
        for number, worker in enumerate(self.workers, start=1):
            generator = worker.info.get("generator") or {}
            each.append(
                {
                    "index": number,
                    "pid": worker.link.info.get("pid"),
                    "host": worker.link.info.get("host"),
                    "status": worker.status,
                    "error": worker.error,
                    "http_reqs": worker.requests,
                    "iterations": worker.iterations,
                    "cpu_fraction": generator.get("cpu_fraction"),
                    "saturated": generator.get("saturated"),
                }
            )
        return {
            "count": len(self.workers),
            "backend": distribution.backend,
            "on_failure": self.policy,
            "failed": sum(1 for w in self.workers if w.status == "died"),
            "each": each,
        }


async def coordinate(config: RunConfig, links: list[Link], *, sinks: list[Sink] | None = None) -> RunResult:
    """Run `config.scenarios` on the workers behind `links` and return the merged result."""
    return await _Coordinator(config, links, list(sinks or [])).run()
