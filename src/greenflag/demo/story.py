"""`greenflag demo`: the whole story on the embedded default, with its numbers.

1. v1 is deployed behind greenflag's embedded router (initial deployment: launch, health gate, 100 %).
2. Scripted users arrive (pages, contact form with CSRF, JSON API, live SSE stream) — in their own process, so the
   load cannot starve the router.
3. Blue-green to v2: the switch is atomic and drain-aware; the users' own count of failed requests across it is
   `switch_failed_requests` (the story needs 0).
4. Canary of a faulty v3 (5 % errors): 10 % of traffic, analysis by the built-in rules (error rate > 1 %, p95 > 3 s,
   failed health gate), on the users' requests and on analysis traffic (`analysis.traffic`: ANALYSIS_RATE requests per
   second to each of v3 and v2 while analysing, so the verdict does not wait for 10 % of the users), automated
   rollback.
   `rollback_seconds` runs from the first failing response v3 served to v3's weight being 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenflag.config import parse_model
from greenflag.demo.view import StoryView
from greenflag.rollout.model import Phase, Status
from greenflag.rollout.runtime import InProcessRouter, run_rollout
from greenflag.spec import RouterSpec, Spec
from greenflag.traffic.embedded.server import EmbeddedRouter

__all__ = ["DemoOptions", "run_demo"]

JOURNEYS = Path(__file__).with_name("journeys.py")
ANALYSIS_RATE = 80  # analysis traffic to each of the canary and the stable, requests per second


@dataclass
class DemoOptions:
    out: Path = Path("out/demo")
    quick: bool = False
    vus: int = 50
    outputs: Any = None  # greenflag.report.outputs.Outputs: --html, --junit, --dashboard (fed the series and statuses)


@dataclass
class Timings:
    steady_s: float
    analysis_s: float
    pause_s: float

    @classmethod
    def for_run(cls, quick: bool) -> Timings:
        return cls(3.0, 10.0, 3.0) if quick else cls(10.0, 30.0, 10.0)


@dataclass
class FaultClock:
    """When v3 first served a failing response, and when it stopped getting traffic (monotonic seconds)."""

    first_failure: float | None = None
    zero_weight: float | None = None
    samples: list[tuple[float, dict[str, int]]] = field(default_factory=list)


def _spec(state_dir: Path, version_args: str, strategy: dict[str, Any], timings: Timings) -> Spec:
    data = {
        "service": "demo",
        "router": {"kind": "embedded", "listen": "127.0.0.1:0", "drain_timeout": "5s"},
        "platform": {
            "kind": "process",
            # every version shares one database, as blue and green share a real one
            "command": f"{sys.executable} -m greenflag demo-app --port {{port}} --version {{version}} "
            f"--db {state_dir / 'demo.db'} {version_args}",
            "stop_grace": "10s",
        },
        "health": {
            "readiness": {"http": "/healthz/ready", "interval": "250ms", "failure_threshold": 3},
            "liveness": {"http": "/healthz/live", "interval": "1s", "failure_threshold": 3},
        },
        "strategy": strategy,
        # unattended: an analysis that ends without enough evidence rolls back instead of waiting for a human
        "analysis": {
            "interval": "500ms",
            "window": "10s",
            "on_inconclusive": "rollback",
            "traffic": {"urls": ["/", "/about", "/api/items"], "rate": ANALYSIS_RATE, "max_rate": 2 * ANALYSIS_RATE},
        },
        "state_dir": str(state_dir),
    }
    return parse_model(Spec, data, "greenflag demo")


def _blue_green(timings: Timings) -> dict[str, Any]:
    return {"blue_green": {"auto_promote": True, "scale_down_delay": "2s"}}


def _canary(timings: Timings) -> dict[str, Any]:
    steps = [
        {"set_weight": 10},
        {"analysis": {"duration": f"{timings.analysis_s}s"}},
        {"set_weight": 50},
        {"pause": {"duration": f"{timings.pause_s}s"}},
        {"set_weight": 100},
    ]
    return {"canary": {"steps": steps, "abort_scale_down_delay": "2s"}}


class LoadProcess:
    """`greenflag load run` of the demo journeys in its own process; stopped with SIGINT (summary kept)."""

    def __init__(self, host: str, vus: int, summary: Path, outputs: Any = None) -> None:
        self.summary = summary
        self.outputs = outputs
        self.series = summary.with_suffix(".jsonl")
        cmd = [sys.executable, "-m", "greenflag", "load", "run", str(JOURNEYS), "--host", host, "--vus", str(vus)]
        cmd += ["--duration", "30m", "--quiet", "--graceful-stop", "5s", "--summary-json", str(summary)]
        cmd += ["--out", str(self.series)] if outputs is not None else []
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self._follow = asyncio.ensure_future(self._lines()) if outputs is not None else None

    async def _lines(self) -> None:
        """The run's time series, a line at a time as it is written, to the report and the dashboard."""
        from greenflag.web.follow import SeriesTail

        tail = SeriesTail(self.series)
        while True:
            for line in tail.read():
                self.outputs.add_line(line)
            if self.proc.poll() is not None:
                return
            await asyncio.sleep(0.5)

    async def stop(self) -> dict[str, Any]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        code = await asyncio.to_thread(self.proc.wait, 60)
        if self._follow is not None:
            await self._follow
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        if not self.summary.exists():
            raise RuntimeError(f"the load process exited with {code} and wrote no summary: {err[-500:]}")
        result: dict[str, Any] = json.loads(self.summary.read_text())
        if self.outputs is not None:
            self.outputs.add_summary(result)
        return result

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


async def _wait_for_traffic(router: EmbeddedRouter, backend: str, requests: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        window = router.stats(10.0).get(backend)
        if window is not None and window.requests >= requests:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no traffic reached {backend} within {timeout:.0f}s")


async def _watch_fault(router: EmbeddedRouter, version: str, clock: FaultClock, stop: asyncio.Event) -> None:
    """Poll the router every 50 ms: first 5xx (or transport error) served by `version`, then its weight at 0."""
    while not stop.is_set():
        now = time.monotonic()
        window = router.stats(60.0).get(version)
        if clock.first_failure is None and window is not None and window.errors > 0:
            clock.first_failure = now
        if clock.first_failure is not None and clock.zero_weight is None and router.weights().get(version, 0) == 0:
            clock.zero_weight = now
        await asyncio.sleep(0.05)


def _stop_all(state_dir: Path) -> None:
    """Stop every instance the demo's platform launched (journaled pids)."""
    from greenflag.platform.registry import make_platform
    from greenflag.rollout.store import Store

    spec = _spec(state_dir, "", _blue_green(Timings.for_run(True)), Timings.for_run(True))
    platform = make_platform(spec, Store.for_state_dir(str(state_dir)))
    stop_all = getattr(platform, "stop_all", None)
    if stop_all is not None:
        asyncio.run(stop_all(grace_s=5.0))


@dataclass
class Story:
    options: DemoOptions
    view: StoryView
    router: EmbeddedRouter
    state_dir: Path
    timings: Timings
    result: dict[str, Any] = field(default_factory=dict)
    load: LoadProcess | None = None

    @property
    def driver(self) -> InProcessRouter:
        return InProcessRouter(self.router)

    def on_status(self, status: Status) -> None:
        if self.options.outputs is not None:
            self.options.outputs.on_status(status.to_json())

    def spec(self, version_args: str, strategy: dict[str, Any]) -> Spec:
        return _spec(self.state_dir, version_args, strategy, self.timings)

    async def deploy_v1(self) -> None:
        self.view.say(f"embedded router listening on {self.router.url}")
        self.view.say("deploying v1 (initial deployment: launch, readiness gate, 100 %)")
        status = await run_rollout(
            self.spec("", _blue_green(self.timings)), "v1", router=self.driver, on_status=self.on_status
        )
        _require(status, Phase.HEALTHY, "v1", "the initial deployment of v1")
        self.view.say(
            f"v1 serves 100 % — {self.options.vus} users start browsing, writing to us, calling the API, streaming"
        )

    async def blue_green(self) -> None:
        self.load = LoadProcess(
            self.router.url, self.options.vus, self.options.out / "load-blue-green.json", self.options.outputs
        )
        await _wait_for_traffic(self.router, "v1", 50, timeout=30)
        await asyncio.sleep(self.timings.steady_s)
        self.view.say("blue-green: launching v2 beside v1, then switching all traffic at once")
        t0 = time.monotonic()
        status = await run_rollout(
            self.spec("", _blue_green(self.timings)), "v2", router=self.driver, on_status=self.on_status
        )
        _require(status, Phase.HEALTHY, "v2", "the blue-green release of v2")
        self.result["blue_green_seconds"] = round(time.monotonic() - t0, 2)
        await asyncio.sleep(self.timings.steady_s)
        summary = await self.load.stop()
        self.load = None
        failed = int(summary["metrics"]["http_req_failed"]["fails"])
        self.result["switch_failed_requests"] = failed
        self.result.setdefault("load", {})["blue_green"] = summary
        self.view.say(
            f"v2 promoted; the users sent {summary['metrics']['http_reqs']['count']:,} requests across the "
            f"switch and {failed} failed"
        )

    async def faulty_canary(self) -> None:
        self.view.say("canary: v3 (which answers 5 % of requests with 500) gets 10 % of traffic")
        self.load = LoadProcess(
            self.router.url, self.options.vus, self.options.out / "load-canary.json", self.options.outputs
        )
        await _wait_for_traffic(self.router, "v2", 50, timeout=30)
        fault = FaultClock()
        stop_watch = asyncio.Event()
        watcher = asyncio.ensure_future(_watch_fault(self.router, "v3", fault, stop_watch))
        status = await run_rollout(
            self.spec("--error-rate 0.05", _canary(self.timings)), "v3", router=self.driver, on_status=self.on_status
        )
        stop_watch.set()
        await watcher
        summary = await self.load.stop()
        self.load = None
        rolled_back = status.phase == Phase.ROLLED_BACK and status.stable == "v2"
        trigger = next((e for e in reversed(status.events) if e.kind == "rollback"), None)
        seconds = None
        if fault.first_failure is not None and fault.zero_weight is not None:
            seconds = round(fault.zero_weight - fault.first_failure, 2)
        self.result.update(
            rolled_back=rolled_back,
            rollback_trigger=None if trigger is None else trigger.message,
            rollback_seconds=seconds,
            stable=status.stable,
        )
        self.result.setdefault("load", {})["canary"] = summary
        if rolled_back:
            why = f" — {trigger.message}" if trigger else ""
            self.view.say(f"v3 rolled back {seconds}s after its first failing response{why}")
        else:
            self.view.say(f"v3 was NOT rolled back (phase {status.phase})")


async def _story(options: DemoOptions, view: StoryView) -> dict[str, Any]:
    timings = Timings.for_run(options.quick)
    state_dir = (options.out / "state").resolve()
    router_spec = _spec(state_dir, "", _blue_green(timings), timings).router
    assert isinstance(router_spec, RouterSpec)
    router = EmbeddedRouter(router_spec, admin=False)
    await router.start()
    view.attach(router)
    story = Story(options, view, router, state_dir, timings, {"router": router.url})
    try:
        await story.deploy_v1()
        await story.blue_green()
        await story.faulty_canary()
        return story.result
    finally:
        if story.load is not None:
            story.load.kill()
        view.detach()
        await router.stop(grace=2.0)


def _require(status: Status, phase: Phase, stable: str, what: str) -> None:
    if status.phase != phase or status.stable != stable:
        raise RuntimeError(f"{what} ended in phase {status.phase} with stable {status.stable}: {status.abort_reason}")


def story_holds(result: dict[str, Any]) -> bool:
    seconds = result.get("rollback_seconds")
    return (
        result.get("switch_failed_requests") == 0
        and result.get("rolled_back") is True
        and seconds is not None
        and seconds < 60
        and result.get("stable") == "v2"
    )


def run_demo(options: DemoOptions) -> dict[str, Any]:
    options.out.mkdir(parents=True, exist_ok=True)
    state_dir = (options.out / "state").resolve()
    if state_dir.exists():
        import shutil

        shutil.rmtree(state_dir)
    view = StoryView()
    started = time.monotonic()
    try:
        result = asyncio.run(_story(options, view))
    except RuntimeError as exc:
        result = {"error": str(exc)}
        view.say(f"the story broke: {exc}")
    finally:
        with contextlib.suppress(Exception):
            _stop_all(state_dir)
    result["duration_s"] = round(time.monotonic() - started, 1)
    result["ok"] = story_holds(result)
    (options.out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    view.conclude(result, options.out / "summary.json")
    return result
