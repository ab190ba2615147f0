"""`--workers`: the load split between worker processes, measured against a real counting server on 127.0.0.1.

Every executor's requests add up exactly to what the server received (also with requests in flight at the end);
the per-worker counts add up to the run's; thresholds are judged on the merged data (one crossed on the whole run
but on no single worker fails it, exit 99) and `abort_on_fail` stops every worker; a worker killed mid-run is
reported and, by default, stops the run (exit 1), or not (`--on-worker-failure continue`); Ctrl+C reaching the
whole process group ends the run once, gracefully; the per-second time series adds up to the summary; unique
feeder rows are handed out once across workers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from greenflag.load.engine.coordinator import coordinate
from greenflag.load.engine.links import InProcessLink, Link
from greenflag.load.engine.runner import run_load
from greenflag.load.run import LoadRequest, prepare
from tests.integration.load.counting_server import CountingServer
from tests.integration.load.test_end_of_run import EXECUTORS, JOURNEY, settled
from tests.support import ROOT, wait_until

pytestmark = pytest.mark.timeout(180)


async def run(target: str, **options: Any) -> dict[str, Any]:
    make, config = prepare(LoadRequest(target=target, progress=False, **options))
    result = await run_load(make, config)
    return result.summary


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "greenflag", "load", "run", *args, "--quiet"],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT,
    )  # fmt: skip


def workers_of(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return list(summary["workers"]["each"])


@pytest.mark.parametrize("executor", list(EXECUTORS))
async def test_every_executors_requests_add_up_to_the_servers_count(executor: str, server: CountingServer) -> None:
    """Two workers share each executor's plan (a slow endpoint: requests are in flight when it ends); the merged
    count is the server's, and the workers' own counts add up to it."""
    server.delay = 0.25
    summary = await run(server.url, workers=2, **EXECUTORS[executor])
    settled(server)
    metrics = summary["metrics"]
    assert metrics["http_reqs"]["count"] == server.received == server.count > 0
    assert metrics["iterations"]["count"] == server.received
    assert summary["errors"] == {} and metrics["interrupted_iterations"]["count"] == 0
    each = workers_of(summary)
    assert [w["status"] for w in each] == ["finished", "finished"]
    assert sum(w["http_reqs"] for w in each) == server.received
    assert all(w["http_reqs"] > 0 for w in each)
    assert summary["executor"]["name"] == executor and summary["workers"]["count"] == 2


async def test_an_open_model_rate_is_split_exactly(server: CountingServer) -> None:
    summary = await run(server.url, workers=2, rate=40, duration=1.0, vus=4)
    settled(server)
    assert summary["metrics"]["iterations"]["count"] == server.received == 40
    assert [w["http_reqs"] for w in workers_of(summary)] == [20, 20]
    assert summary["metrics"]["dropped_iterations"]["count"] == 0


async def test_a_journey_on_two_workers(server: CountingServer, tmp_path: Path) -> None:
    path = tmp_path / "two.py"
    path.write_text(textwrap.dedent(JOURNEY))
    server.delay = 0.1
    summary = await run(str(path), host=server.url, workers=2, rate=20, duration=1.0, vus=2, max_vus=10)
    settled(server)
    metrics = summary["metrics"]
    assert metrics["iterations"]["count"] == 20 and metrics["http_reqs"]["count"] == server.received == 40
    assert summary["by_name"]["first"]["http_reqs"]["count"] == summary["by_name"]["second"]["http_reqs"]["count"]


def test_a_threshold_crossed_on_the_merged_data_and_on_no_worker_fails_the_run(
    server: CountingServer, tmp_path: Path
) -> None:
    """40 iterations on two workers: 20 each. `http_reqs: count<30` holds on each worker's traffic, not on the
    run's 40: exit 99, and the summary says which value crossed it."""
    out = tmp_path / "summary.json"
    done = cli(server.url, "--workers", "2", "--vus", "2", "--iterations", "40", "--threshold", "http_reqs: count<30",
               "--summary-json", str(out))  # fmt: skip
    assert done.returncode == 99, done.stderr
    summary = json.loads(out.read_text())
    assert [w["http_reqs"] for w in workers_of(summary)] == [20, 20]
    assert summary["thresholds"]["http_reqs"] == [{"expr": "count<30", "ok": False, "value": 40.0}]
    assert summary["ok"] is False and server.received == 40


def test_abort_on_fail_stops_every_worker(server: CountingServer, tmp_path: Path) -> None:
    script = tmp_path / "abort.py"
    script.write_text(
        textwrap.dedent(
            """
            from greenflag import User, task
            options = {"rate": 20, "duration": "60s", "vus": 4,
                       "thresholds": {"http_reqs": [{"threshold": "count<25", "abortOnFail": True}]}}

            class One(User):
                @task
                async def one(self):
                    await self.http.get("/", name="one")
            """
        )
    )
    out = tmp_path / "summary.json"
    done = cli(str(script), "--host", server.url, "--workers", "2", "--summary-json", str(out))
    assert done.returncode == 99, done.stderr
    summary = json.loads(out.read_text())
    assert summary["aborted"].startswith("threshold http_reqs: count<25 crossed")
    assert summary["duration_s"] < 20  # stopped after a few seconds, not at 60 s
    assert [w["status"] for w in workers_of(summary)] == ["stopped", "stopped"]
    settled(server)
    assert summary["metrics"]["http_reqs"]["count"] == server.received


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def _start(server: CountingServer, out: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "greenflag", "load", "run", server.url, "--workers", "2", "--vus", "4",
               "--duration", "6s", "--quiet", "--summary-json", str(out), *extra]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)  # fmt: skip


@pytest.mark.parametrize("policy", ["abort", "continue"])
def test_a_worker_killed_mid_run_is_reported(server: CountingServer, tmp_path: Path, policy: str) -> None:
    out = tmp_path / "summary.json"
    server.delay = 0.01
    proc = _start(server, out, "--on-worker-failure", policy)
    try:
        wait_until(lambda: len(_children(proc.pid)) == 2 and server.received > 50, timeout=60, what="traffic")
        victim = _children(proc.pid)[1]
        os.kill(victim, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=90)
    finally:
        proc.kill()
    summary = json.loads(out.read_text())
    assert f"(pid {victim}) was killed by SIGKILL" in stderr
    died = [w for w in workers_of(summary) if w["status"] == "died"]
    assert [w["pid"] for w in died] == [victim] and died[0]["error"] == "was killed by SIGKILL"
    assert summary["workers"]["failed"] == 1 and summary["workers"]["on_failure"] == policy
    assert [w["id"] for w in summary["warnings"]] == ["worker_failed"]
    settled(server)
    if policy == "abort":
        assert proc.returncode == 1 and "the run was stopped" in stderr
        assert "was killed by SIGKILL" in summary["aborted"] and summary["duration_s"] < 6
    else:
        assert proc.returncode == 0 and summary["aborted"] is None
        assert summary["duration_s"] >= 6 and [w["status"] for w in workers_of(summary)].count("finished") == 1
    # what the dead worker delivered before it died is counted, and nothing more than the server received
    assert 0 < summary["metrics"]["http_reqs"]["count"] <= server.received


def test_ctrl_c_reaching_every_process_ends_the_run_once_and_gracefully(server: CountingServer, tmp_path: Path) -> None:
    """A terminal's Ctrl+C signals the whole process group: the workers ignore it, the coordinator stops them
    (the graceful stop follows) and writes the summary."""
    out = tmp_path / "summary.json"
    proc = _start(server, out, "--duration", "60s")
    try:
        wait_until(lambda: len(_children(proc.pid)) == 2 and server.received > 50, timeout=60, what="traffic")
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    summary = json.loads(out.read_text())
    assert proc.returncode == 0 and summary["aborted"] == "stopped by SIGINT"
    assert [w["status"] for w in workers_of(summary)] == ["stopped", "stopped"]
    settled(server)
    assert summary["metrics"]["http_reqs"]["count"] == server.received
    assert summary["metrics"]["interrupted_iterations"]["count"] == 0


def test_the_time_series_of_a_run_on_workers_adds_up(server: CountingServer, tmp_path: Path) -> None:
    out, series = tmp_path / "summary.json", tmp_path / "series.jsonl"
    done = cli(server.url, "--workers", "2", "--rate", "50", "--duration", "3s", "--summary-json", str(out),
               "--out", str(series))  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(out.read_text())
    lines = [json.loads(line) for line in series.read_text().splitlines()]
    ts = [line["t"] for line in lines]
    assert ts == sorted(set(ts)) and ts[-1] - ts[0] == len(ts) - 1  # one line per second, none twice
    assert sum(line["http_reqs"] for line in lines) == summary["metrics"]["http_reqs"]["count"] == 150
    assert sum(sum(line["http_req_duration"]["c"]) for line in lines) == 150
    assert max(line["vus_max"] for line in lines) == summary["metrics"]["vus_max"]["value"]


FEEDER_SCRIPT = """
from greenflag import User, task
from greenflag.load.scenarios.feeders import Feeder

rows = Feeder("rows.csv", unique=True)

class Claimer(User):
    @task
    async def claim(self):
        await self.http.get(f"/row/{rows.next()['id']}", name="row")
"""


@pytest.mark.parametrize("order", ["sequential", "random"])
async def test_unique_feeder_rows_are_used_once_across_workers(
    server: CountingServer, tmp_path: Path, order: str
) -> None:
    (tmp_path / "rows.csv").write_text("id\n" + "".join(f"{i}\n" for i in range(60)))
    script = tmp_path / "claim.py"
    script.write_text(textwrap.dedent(FEEDER_SCRIPT).replace("unique=True", f"unique=True, order={order!r}"))
    summary = await run(str(script), host=server.url, workers=2, vus=4, iterations=60)
    settled(server)
    used = Counter(line.split()[1].decode() for line in server.request_lines)
    assert sorted(used) == sorted(f"/row/{i}" for i in range(60)) and set(used.values()) == {1}
    assert summary["metrics"]["iterations"]["count"] == 60 and "script_errors" not in summary


class _LossyChannel:
    """Fails every third delta send, delivers every third one twice."""

    def __init__(self, queue: asyncio.Queue[tuple[Any, ...]]) -> None:
        self.queue, self.sends = queue, 0

    async def send(self, message: tuple[Any, ...]) -> None:
        if message[0] == "delta":
            self.sends += 1
            if self.sends % 3 == 1:
                raise ConnectionError("lost on the way")
            if self.sends % 3 == 2:
                self.queue.put_nowait(message)
        self.queue.put_nowait(message)


class _LossyLink(InProcessLink):
    """A worker whose sends fail or come twice, and whose acknowledgements are lost one time in two."""

    acks = 0

    def channel(self) -> Any:
        return _LossyChannel(self._queue)

    async def control(self, message: tuple[Any, ...]) -> None:
        if message[0] == "ack":
            self.acks += 1
            if self.acks % 2:
                return
        await super().control(message)


async def test_failed_sends_and_lost_acknowledgements_lose_and_double_nothing(server: CountingServer) -> None:
    """Two workers over a link that loses a third of their deltas, repeats another third and loses half of the
    acknowledgements: a delta stays with its worker until acknowledged, so the merged count is still exactly the
    server's — no second lost, none counted twice."""
    _, config = prepare(LoadRequest(target=server.url, progress=False, rate=30, duration=3.0, vus=4))
    links: list[Link] = [_LossyLink(config.scenarios, index, 2) for index in range(2)]
    result = await coordinate(config, links)
    settled(server)
    assert result.summary["metrics"]["http_reqs"]["count"] == server.received == 90
    assert result.worker_failures == []


def test_workers_stop_when_the_coordinator_is_killed(server: CountingServer, tmp_path: Path) -> None:
    proc = _start(server, tmp_path / "summary.json", "--duration", "60s")
    wait_until(lambda: len(_children(proc.pid)) == 2 and server.received > 50, timeout=60, what="traffic")
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    def gone(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True

    wait_until(lambda: all(gone(pid) for pid in workers), timeout=60, what="the workers to exit")
    settled(server)  # and their connections are closed: no traffic left behind
