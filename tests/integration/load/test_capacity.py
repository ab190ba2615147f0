"""The per-VU memory estimate that refuses runs which cannot fit (`load/engine/capacity.py`) is above what a VU
really takes: 2,000 VUs, each holding its keep-alive connection to a real server on 127.0.0.1, in URL mode and as
journeys; the engine runs in a child process that measures its own RSS."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from greenflag.load.engine.capacity import PER_VU_BYTES
from tests.integration.load.counting_server import counting_server

pytestmark = pytest.mark.timeout(120)

VUS = 2000
MEASURE = """
import asyncio, sys
from pathlib import Path
from greenflag.load.engine.runner import run_load, run_sync
from greenflag.load.run import LoadRequest, prepare

def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")

kind, url, vus, script = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if kind == "url":  # open model: one request per VU, so every VU has made its connection
    request = LoadRequest(target=url, rate=vus / 2, duration=2.0, vus=vus, max_vus=vus, progress=False)
else:
    request = LoadRequest(target=script, host=url, vus=vus, duration=2.0, progress=False)
make, config = prepare(request)
config.graceful_stop = 1.0
before = rss()
peak = [before]

async def main() -> None:
    async def watch() -> None:
        while True:
            peak[0] = max(peak[0], rss())
            await asyncio.sleep(0.05)
    watcher = asyncio.ensure_future(watch())
    await run_load(make, config)
    watcher.cancel()

run_sync(main())
print((peak[0] - before) / vus)
"""
JOURNEY = """
from greenflag import User, constant, task

class Idle(User):
    wait_time = constant(30)

    @task
    async def home(self):
        await self.http.get("/", name="home")
"""


@pytest.mark.parametrize("kind", ["url", "scenario"])
def test_the_estimate_per_vu_is_above_the_measured_memory(kind: str, tmp_path: Path) -> None:
    script = tmp_path / "idle.py"
    script.write_text(textwrap.dedent(JOURNEY))
    with counting_server() as server:
        proc = subprocess.run(
            [sys.executable, "-c", MEASURE, kind, server.url, str(VUS), str(script)],
            capture_output=True,
            text=True,
            timeout=90,
        )
        received = server.received
    assert proc.returncode == 0, proc.stderr
    measured = float(proc.stdout.strip().splitlines()[-1])
    assert received >= VUS * 0.9  # (nearly) every VU made its request and holds its connection
    assert 0 < measured < PER_VU_BYTES[kind], f"{measured:.0f} bytes per VU measured"
    print(f"{kind}: {measured / 1024:.1f} KiB per VU measured, {PER_VU_BYTES[kind] / 1024:.0f} KiB estimated")
