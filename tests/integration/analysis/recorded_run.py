"""A real canary run to record: the embedded router in front of a stable and a canary of the reference service,
users at `user_rate` (80/20), analysis traffic at `analysis_rate` to each version until the end, and the live
analysis judging it; the router's per-second stats are then exported (`GET /stats/export`) with what the live
analysis decided.

`tests/data/replay/faulty-canary.jsonl` (and its `.json` with the live verdict) was recorded with

    PYTHONPATH=src python3 -m tests.integration.analysis.recorded_run tests/data/replay/faulty-canary

The integration tests record a fresh one the same way and replay it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from greenflag.analysis.run import AnalysisRun, build_providers
from greenflag.analysis.traffic import AnalysisTraffic
from greenflag.clock import SystemClock
from greenflag.demo.process import run_demo_app
from greenflag.load.engine.paced import PacedLoad
from greenflag.rollout.runtime import InProcessRouter
from greenflag.spec import AnalysisSpec, RouterSpec
from greenflag.traffic.embedded.server import EmbeddedRouter

ANALYSIS = {"interval": "500ms", "traffic": {"urls": ["/about"], "rate": 40, "judge": "both"}}


async def record(
    canary_args: list[str], *, seconds: float = 20.0, user_rate: float = 20.0, analysis: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(the export's lines, what the live analysis said: verdict, decided_at, metric, message, start)."""
    spec = AnalysisSpec.model_validate(analysis or ANALYSIS)
    assert spec.traffic is not None
    with run_demo_app("v1") as stable, run_demo_app("v2", canary_args) as canary:
        backends = {"v1": stable.url, "v2": canary.url}
        router_spec = RouterSpec(listen="127.0.0.1:0", backends=backends, weights={"v1": 80, "v2": 20})
        router = EmbeddedRouter(router_spec, admin=False)
        await router.start()
        driver = InProcessRouter(router)
        users = PacedLoad(router.url + "/about", user_rate)
        user_task = asyncio.create_task(users.run())
        await asyncio.sleep(3.0)  # a stable lookback before the analysis
        traffic = AnalysisTraffic(spec.traffic, router_url=router.url, route_header="X-Greenflag-Route",
                                  tag=driver.synthetic_tag(), targets={"canary": ["v2"], "stable": ["v1"]})  # fmt: skip
        run = AnalysisRun(spec, build_providers(spec, router=driver), "v2", "v1", SystemClock())
        offset = time.time() - time.monotonic()
        start = run.started_at + offset
        traffic.start()
        verdict = await run.run(seconds)
        decided = next((m for m in reversed(run.measurements) if m.verdict is verdict), None)
        # the analysis traffic runs on to the end (a rollout would stop it at the verdict): a replay whose look
        # lags the live one by a partial second still has the same traffic to decide on, not the users' alone
        await asyncio.sleep(max(0.0, seconds - (time.monotonic() - run.started_at)) + 1.2)  # the rest, then a second
        await traffic.stop()
        users.stop.set()
        await user_task
        lines = router.stats_export()
        await router.stop()
    live = {
        "verdict": str(verdict),
        "start": round(start, 3),
        "decided_at": None if decided is None else round(decided.at + offset, 3),
        "metric": None if decided is None else decided.metric,
        "message": None if decided is None else decided.message,
        "analysis": analysis or ANALYSIS,
    }
    return lines, live


def main() -> None:
    base = Path(sys.argv[1])
    lines, live = asyncio.run(record(["--error-rate", "0.05", "--faults-after-s", "4"]))
    base.with_suffix(".jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    base.with_suffix(".json").write_text(json.dumps(live, indent=2) + "\n")
    print(json.dumps(live, indent=2))


if __name__ == "__main__":
    main()
