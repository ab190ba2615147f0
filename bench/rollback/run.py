"""bench/rollback: how fast does greenflag take traffic away from a version that starts failing?

N canaries of a version that turns faulty (demo-app --error-rate 0.05 --faults-after-s S) under 100 req/s
through the embedded router, judged by greenflag.analysis's built-in rules (mixture SPRT of the canary's error
rate against the stable's): time from the first failing response a client saw to 100 % stable (the rollback
event; the router is updated in the same tick). Then N healthy canaries: they must all promote. A faulty canary
that is missed (promoted) is followed by a clean version, so the next one is again judged against a clean stable.

    taskset -c 1 python3 bench/rollback/run.py [--runs 20] [--json out.json]

Everything (router, controller, load, demo-app processes) runs on the pinned core(s), on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from greenflag.config import load_spec
from greenflag.load.engine.paced import PacedLoad
from greenflag.rollout.model import Phase
from greenflag.rollout.up import Up

TARGET_S = 5.0
RATE = 100.0
FAULTS_AFTER_S = 3.0


def write_spec(tmp: Path, port: int) -> Path:
    command = (
        f"sh -c 'exec {sys.executable} -m greenflag demo-app --port {{port}} --version {{version}} "
        "$(cat {version}.args 2>/dev/null)'"
    )
    spec = {
        "service": "bench",
        "router": {"listen": f"127.0.0.1:{port}", "admin": "127.0.0.1:0"},
        "platform": {"command": command, "stop_grace": "3s", "cwd": str(tmp)},
        "health": {"readiness": {"http": "/healthz/ready", "interval": "100ms"}},
        "strategy": {
            "canary": {
                "steps": [{"set_weight": 20}, {"analysis": {"duration": "30s"}}, {"set_weight": 100}],
                "abort_scale_down_delay": "500ms",
            }
        },
        "analysis": {"interval": "500ms", "window": "5s"},
    }
    path = tmp / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


async def bench(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gf-bench-rollback-") as tmp_name:
        tmp = Path(tmp_name)
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        up = Up(load_spec(write_spec(tmp, port)), tick_s=0.2)
        async with up.running():
            # the load starts once a version serves: before the first deployment the router rightly answers
            # 503 "no backend available" (earlier runs counted ~80 of those as router errors)
            assert (await up.rollout("base", timeout=600)).phase is Phase.HEALTHY
            load = PacedLoad(up.router_url + "/about", RATE)
            load_task = asyncio.create_task(load.run())
            try:
                seconds: list[float] = []
                missed = 0
                for i in range(runs):
                    version = f"faulty{i}"
                    (tmp / f"{version}.args").write_text(f"--error-rate 0.05 --faults-after-s {FAULTS_AFTER_S}")
                    status = await up.rollout(version, timeout=600)
                    rollback = next((e for e in status.events if e.kind == "rollback"), None)
                    first = load.first_failure.get(version)
                    if status.phase is not Phase.ROLLED_BACK or rollback is None or first is None:
                        missed += 1
                        print(f"  {version}: NOT rolled back ({status.phase}); first failure seen: {first}")
                        for event in status.events:
                            print(f"      {event.time:.2f} {event.kind}: {event.message}")
                        if status.phase is Phase.HEALTHY:  # a faulty stable would be every next canary's baseline
                            restored = await up.rollout(f"clean{i}", timeout=600)
                            print(f"  clean{i}: {restored.phase} (a clean stable again)")
                        continue
                    seconds.append(rollback.time - first)
                    print(
                        f"  {version}: rolled back {seconds[-1]:.2f}s after the first failing response"
                        f" ({rollback.message})"
                    )
                healthy_rollbacks = 0
                for i in range(runs):
                    status = await up.rollout(f"healthy{i}", timeout=600)
                    healthy_rollbacks += status.phase is not Phase.HEALTHY
                    print(f"  healthy{i}: {status.phase}")
            finally:
                load.stop.set()
                await load_task
    return {
        "runs": runs,
        "rate": RATE,
        "rollback_seconds": seconds,
        "median_s": statistics.median(seconds) if seconds else None,
        "max_s": max(seconds) if seconds else None,
        "faulty_not_rolled_back": missed,
        "healthy_rolled_back": healthy_rollbacks,
        "requests": load.counts,
        "router_errors": len(load.router_errors),
        "router_error_codes": {str(c): sum(1 for _, x in load.router_errors if x == c) for _, c in load.router_errors},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(bench(args.runs))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    median, worst = result["median_s"], result["max_s"]
    print(f"faulty canaries: {args.runs}, rolled back: {len(result['rollback_seconds'])}")
    if median is not None:
        print(f"first failing response → 100 % stable: median {median:.2f}s, max {worst:.2f}s")
        print(f"  target ≤ {TARGET_S:.0f}s: median/target {median / TARGET_S:.2f}, max/target {worst / TARGET_S:.2f}")
    print(f"healthy canaries: {args.runs}, rolled back: {result['healthy_rolled_back']} (target 0)")
    print(
        f"requests: {sum(result['requests'].values())}, 5xx from the router itself: {result['router_errors']}",
        result["router_error_codes"],
    )


if __name__ == "__main__":
    main()
