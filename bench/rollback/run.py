"""bench/rollback: how fast does greenflag take traffic away from a version that starts failing?

N canaries of a version that turns faulty (demo-app --error-rate 0.05 --faults-after-s S) under --user-rate req/s of
users through the embedded router, judged by greenflag.analysis's built-in rules (mixture SPRT of the canary's error
rate against the stable's), with `analysis.traffic` at --analysis-rate req/s to each of the canary and the stable
(0: none, the earlier runs). Measured: wall time from the first failing response the canary served (any request:
users' or analysis traffic; the router's stats polled every 20 ms) to the canary's weight 0 in the router (polled
too); and from the first failing response a user saw. Then N healthy canaries: they must all promote. A faulty
canary that is missed (promoted) is followed by a clean version, so the next one is again judged against a clean
stable.

    taskset -c 1 python3 bench/rollback/run.py [--runs 20] [--user-rate 10] [--analysis-rate 100] [--json out.json]
    taskset -c 1 python3 bench/rollback/run.py --user-rate 100 --analysis-rate 0 --step 30   # the earlier setup

Everything (router, controller, load, demo-app processes) runs on the pinned core(s), on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from greenflag.config import load_spec
from greenflag.load.engine.paced import PacedLoad
from greenflag.rollout.model import Phase
from greenflag.rollout.up import Up

TARGET_S = 5.0
FAULTS_AFTER_S = 3.0


def write_spec(tmp: Path, port: int, args: argparse.Namespace) -> Path:
    command = (
        f"sh -c 'exec {sys.executable} -m greenflag demo-app --port {{port}} --version {{version}} "
        "$(cat {version}.args 2>/dev/null)'"
    )
    analysis: dict[str, Any] = {"interval": "500ms", "window": "5s", "on_inconclusive": "rollback"}
    if args.analysis_rate > 0:
        analysis["traffic"] = {
            "urls": ["/about"],
            "rate": args.analysis_rate,
            "max_rate": 2 * args.analysis_rate,
            "judge": args.judge,
        }
    spec = {
        "service": "bench",
        "router": {"listen": f"127.0.0.1:{port}", "admin": "127.0.0.1:0"},
        "platform": {"command": command, "stop_grace": "3s", "cwd": str(tmp)},
        "health": {"readiness": {"http": "/healthz/ready", "interval": "100ms"}},
        "strategy": {
            "canary": {
                "steps": [
                    {"set_weight": 20},
                    {"analysis": {"duration": f"{args.step:g}s"}},
                    {"set_weight": 100},
                ],
                "abort_scale_down_delay": "500ms",
            }
        },
        "analysis": analysis,
    }
    path = tmp / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@dataclass
class Watch:
    """The canary's first failing response (router stats) and its weight going to 0 (router weights), monotonic."""

    version: str
    first_failure: float | None = None
    zero_weight: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


def failures(router: Any, version: str) -> int:
    """The version's 5xx and transport errors since it started: the router's running totals (no window merge, so
    polling every 20 ms costs nothing next to the traffic)."""
    series = router.core.stats.series.get(version)
    return 0 if series is None else int(series.totals[4] + series.totals[5])


async def watch(router: Any, w: Watch) -> None:
    while not w.done.is_set():
        now = time.monotonic()
        if w.first_failure is None and failures(router, w.version) > 0:
            w.first_failure = now
        if w.first_failure is not None and w.zero_weight is None and router.weights().get(w.version, 0) == 0:
            w.zero_weight = now
        await asyncio.sleep(0.02)


async def one(up: Up, load: PacedLoad, version: str) -> tuple[Any, Watch]:
    w = Watch(version)
    task = asyncio.create_task(watch(up.router, w))
    try:
        status = await up.rollout(version, timeout=600)
    finally:
        w.done.set()
        await task
    return status, w


def user_5xx(load: PacedLoad, version: str) -> int:
    return int(load.counts.get(f"{version} 5xx", 0))


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    runs = args.runs
    with tempfile.TemporaryDirectory(prefix="gf-bench-rollback-") as tmp_name:
        tmp = Path(tmp_name)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        up = Up(load_spec(write_spec(tmp, port, args)), tick_s=0.2)
        async with up.running():
            # the load starts once a version serves: before the first deployment the router rightly answers
            # 503 "no backend available"
            assert (await up.rollout("base", timeout=600)).phase is Phase.HEALTHY
            load = PacedLoad(up.router_url + "/about", args.user_rate)
            load_task = asyncio.create_task(load.run(max_requests=10_000_000))
            await asyncio.sleep(5.0)  # a stable lookback before the first canary
            seconds: list[float] = []
            user_seconds: list[float] = []
            user_errors: list[int] = []
            missed = 0
            try:
                for i in range(runs):
                    version = f"faulty{i}"
                    (tmp / f"{version}.args").write_text(f"--error-rate 0.05 --faults-after-s {FAULTS_AFTER_S}")
                    status, w = await one(up, load, version)
                    rollback = next((e for e in status.events if e.kind == "rollback"), None)
                    if status.phase is not Phase.ROLLED_BACK or w.first_failure is None or w.zero_weight is None:
                        missed += 1
                        print(f"  {version}: NOT rolled back ({status.phase}); first failure seen: {w.first_failure}")
                        for event in status.events:
                            print(f"      {event.time:.2f} {event.kind}: {event.message}")
                        if status.phase is Phase.HEALTHY:  # a faulty stable would be every next canary's baseline
                            restored = await up.rollout(f"clean{i}", timeout=600)
                            print(f"  clean{i}: {restored.phase} (a clean stable again)")
                        continue
                    seconds.append(w.zero_weight - w.first_failure)
                    first_user = load.first_failure.get(version)
                    if first_user is not None and rollback is not None:
                        user_seconds.append(rollback.time - first_user)
                    user_errors.append(user_5xx(load, version))
                    print(
                        f"  {version}: weight 0 {seconds[-1]:.2f}s after its first failing response; users saw "
                        f"{user_errors[-1]} 5xx ({rollback.message if rollback else '?'})"
                    )
                healthy_rollbacks = 0
                for i in range(runs):
                    status, _ = await one(up, load, f"healthy{i}")
                    healthy_rollbacks += status.phase is not Phase.HEALTHY
                    why = "" if status.phase is Phase.HEALTHY else f": {status.abort_reason}"
                    print(f"  healthy{i}: {status.phase}{why}")
            finally:
                load.stop.set()
                await load_task
    return {
        "runs": runs,
        "user_rate": args.user_rate,
        "analysis_rate": args.analysis_rate,
        "judge": args.judge,
        "step_s": args.step,
        "rollback_seconds": seconds,
        "median_s": statistics.median(seconds) if seconds else None,
        "max_s": max(seconds) if seconds else None,
        "from_first_user_failure_s": user_seconds,
        "users_5xx_per_faulty_canary": user_errors,
        "faulty_not_rolled_back": missed,
        "healthy_rolled_back": healthy_rollbacks,
        "requests": load.counts,
        "router_errors": len(load.router_errors),
        "router_error_codes": {str(c): sum(1 for _, x in load.router_errors if x == c) for _, c in load.router_errors},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--user-rate", type=float, default=10.0, help="users' requests per second (all versions)")
    parser.add_argument(
        "--analysis-rate", type=float, default=100.0, help="analysis traffic per second to EACH of canary and stable"
    )
    parser.add_argument("--judge", default="both", choices=["both", "user", "synthetic"])
    parser.add_argument("--step", type=float, default=20.0, help="the analysis step's duration (s)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    started = time.time()
    result = asyncio.run(bench(args))
    result["wall_s"] = round(time.time() - started, 1)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    median, worst = result["median_s"], result["max_s"]
    print(
        f"users {args.user_rate:g} req/s, analysis traffic {args.analysis_rate:g} req/s to each version "
        f"(judge {args.judge}), analysis step {args.step:g}s"
    )
    print(f"faulty canaries: {args.runs}, rolled back: {len(result['rollback_seconds'])}")
    if median is not None:
        print(f"first failing response → canary weight 0: median {median:.2f}s, max {worst:.2f}s")
        print(f"  target ≤ {TARGET_S:.0f}s: median/target {median / TARGET_S:.2f}, max/target {worst / TARGET_S:.2f}")
    if result["users_5xx_per_faulty_canary"]:
        errors = result["users_5xx_per_faulty_canary"]
        print(f"users' 5xx per rolled-back faulty canary: median {statistics.median(errors):g}, max {max(errors)}")
    print(f"healthy canaries: {args.runs}, rolled back: {result['healthy_rolled_back']} (target 0)")
    print(
        f"user requests: {sum(result['requests'].values())}, 5xx from the router itself: {result['router_errors']}",
        result["router_error_codes"],
    )


if __name__ == "__main__":
    main()
