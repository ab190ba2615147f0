"""The Ray backend's test job (run by test_ray.py inside a network namespace that has only loopback: Ray's servers
listen on every interface of their machine, so they are kept where only 127.0.0.1 exists).

It starts the counting server and a local Ray instance (2 CPUs, no dashboard, node address 127.0.0.1), runs load
through `--backend ray` with two workers (Ray actors), kills one actor in a third run, and prints one JSON line per
case with what the test checks. Not a test itself: `python3 tests/integration/load/ray_job.py`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import ray

    from greenflag.load.engine.runner import run_load, run_sync
    from greenflag.load.run import LoadRequest, prepare
    from tests.integration.load.counting_server import counting_server

    started = time.monotonic()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    report("ray_started", {"seconds": round(time.monotonic() - started, 2), "cpus": ray.cluster_resources()["CPU"]})
    with counting_server() as server:

        def run(target: str, **options: Any) -> tuple[dict[str, Any], list[str]]:
            make, config = prepare(LoadRequest(target=target, progress=False, backend="ray", **options))
            result = run_sync(run_load(make, config))
            wait_settled(server)
            return result.summary, result.worker_failures

        t0 = time.monotonic()
        summary, _ = run(server.url, workers=2, rate=40, duration=2.0, vus=4)
        report("rate", {**counts(summary, server), "seconds": round(time.monotonic() - t0, 2)})

        server.reset()
        summary, _ = run(server.url, workers=2, vus=2, iterations=40, thresholds=["http_reqs: count<30"])
        report("threshold", {**counts(summary, server), "thresholds": summary["thresholds"], "ok": summary["ok"]})

        server.reset()
        script = Path("/tmp") / f"greenflag-ray-{int(time.time() * 1000)}.py"
        script.write_text(textwrap.dedent(SCENARIOS))
        summary, _ = run(str(script), host=server.url, workers="auto")
        report("scenarios", {**counts(summary, server), "scenarios": summary["scenarios"]})

        server.reset()
        server.delay = 0.01
        killer = threading.Thread(target=kill_one_actor, args=(ray, server), daemon=True)
        killer.start()
        summary, failures = run(server.url, workers=2, vus=4, duration=10.0)
        report("killed", {**counts(summary, server), "failures": failures, "aborted": summary["aborted"],
                          "duration_s": summary["duration_s"], "warnings": summary["warnings"]})
        script.unlink(missing_ok=True)
    ray.shutdown()


SCENARIOS = """
from greenflag import User, task

options = {"scenarios": {
    "api": {"executor": "constant-arrival-rate", "rate": 20, "duration": "1s", "preAllocatedVUs": 2, "exec": "Api"},
    "pages": {"executor": "per-vu-iterations", "vus": 2, "iterations": 3, "exec": "Pages"},
}}

class Api(User):
    @task
    async def call(self):
        await self.http.get("/api")

class Pages(User):
    @task
    async def visit(self):
        await self.http.get("/page")
"""


def counts(summary: dict[str, Any], server: Any) -> dict[str, Any]:
    return {
        "http_reqs": summary["metrics"]["http_reqs"]["count"],
        "received": server.received,
        "workers": summary.get("workers"),
    }


def wait_settled(server: Any) -> None:
    deadline = time.monotonic() + 10
    while server.reading and time.monotonic() < deadline:
        time.sleep(0.02)


def kill_one_actor(ray: Any, server: Any) -> None:
    """Once traffic flows, kill one of the run's worker actors (as a node failure would)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        names = sorted(n for n in ray.util.list_named_actors() if n.startswith("greenflag-") and "-worker-" in n)
        if len(names) == 2 and server.received > 50:
            report("killing", {"actor": names[1], "received": server.received})
            ray.kill(ray.get_actor(names[1]))
            return
        time.sleep(0.1)


def report(case: str, data: dict[str, Any]) -> None:
    print(json.dumps({"case": case, **data}), flush=True)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
