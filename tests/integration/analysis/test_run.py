"""`greenflag analysis run` end to end: the embedded router in front of the reference service under load.

A stable v1 takes 80 % of ~100 req/s; the canary takes 20 %. A healthy canary (v2) passes; a faulty one
(v3, `--error-rate 0.05`) fails on the built-in error-rate rule, and the failure names metric, value and limit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenflag.demo.process import DemoAppProcess, run_demo_app
from greenflag.spec import RouterSpec
from greenflag.traffic.embedded.server import EmbeddedRouter
from tests.support import greenflag_cmd

TOKEN = "analysis-test-token"


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, DemoAppProcess]]:
    with (
        run_demo_app("v1") as stable,
        run_demo_app("v2") as healthy,
        run_demo_app("v3", ["--error-rate", "0.05"]) as faulty,
    ):
        yield {"stable": stable, "healthy": healthy, "faulty": faulty}


async def start_router(stable: str, canary: str) -> EmbeddedRouter:
    spec = RouterSpec(listen="127.0.0.1:0", admin="127.0.0.1:0", backends={"stable": stable, "canary": canary},
                      weights={"stable": 80, "canary": 20})  # fmt: skip
    router = EmbeddedRouter(spec, admin_token=TOKEN)
    await router.start()
    return router


def write_spec(tmp_path: Path, name: str, router: EmbeddedRouter) -> Path:
    assert router.admin_url is not None
    token = tmp_path / f"{name}.token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    spec: dict[str, Any] = {
        "service": "web",
        "router": {"admin": router.admin_url.removeprefix("http://"), "admin_token_file": str(token)},
        "platform": {"command": "web --port {port}"},  # required in every spec; not used by `analysis run`
        "strategy": {"canary": {"steps": [{"set_weight": 20}]}},
        "analysis": {"interval": "1s"},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


async def run(*args: str, timeout: float) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def parse(out: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    measurements = [line["measurement"] for line in lines if "measurement" in line]
    summaries = [line["summary"] for line in lines if "summary" in line]
    assert len(summaries) == 1, out
    return measurements, summaries[0]


@pytest.mark.timeout(180)
async def test_analysis_fails_the_faulty_canary_and_passes_the_healthy_one(
    apps: dict[str, DemoAppProcess], tmp_path: Path
) -> None:
    good = await start_router(apps["stable"].url, apps["healthy"].url)
    bad = await start_router(apps["stable"].url, apps["faulty"].url)
    try:
        load = [
            asyncio.ensure_future(
                run(
                    *greenflag_cmd("load", "run", r.url + "/", "--rate", "100", "--duration", "25s", "--quiet"),
                    timeout=90,
                )
            )
            for r in (good, bad)
        ]
        analysis = [
            run(
                *greenflag_cmd(
                    "analysis",
                    "run",
                    "-f",
                    str(write_spec(tmp_path, name, r)),
                    "--canary",
                    "canary",
                    "--stable",
                    "stable",
                    "--duration",
                    "15s",
                    "--json",
                ),
                timeout=90,
            )
            for name, r in (("good", good), ("bad", bad))
        ]
        (good_rc, good_out, good_err), (bad_rc, bad_out, bad_err) = await asyncio.gather(*analysis)
        await asyncio.gather(*load)
    finally:
        await good.stop(grace=1.0)
        await bad.stop(grace=1.0)

    measurements, summary = parse(bad_out)
    assert bad_rc == 3, bad_out + bad_err
    assert summary["verdict"] == "Failed" and summary["metrics"]["error_rate"] == "Failed"
    reason = summary["reason"]
    assert "error_rate" in reason and "canary" in reason and "stable" in reason and "%" in reason
    failed = [m for m in measurements if m["verdict"] == "Failed"]
    assert failed and failed[-1]["condition"] and failed[-1]["value"] > 0.01

    measurements, summary = parse(good_out)
    assert good_rc == 0, good_out + good_err
    assert summary["verdict"] == "Successful", summary
    assert {m["metric"] for m in measurements} == {"error_rate", "latency"}
    judged = [m for m in measurements if m["verdict"] == "Successful"]
    assert judged, "the healthy canary was never judged: no traffic reached it?"
