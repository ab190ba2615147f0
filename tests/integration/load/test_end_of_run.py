"""The end of a run (k6's graceful stop) against a real counting server on 127.0.0.1: greenflag's `http_reqs`
equals the number of requests the server received, for every executor, in URL mode and for a scripted journey,
also when the endpoint is slow enough that requests are in flight when the duration ends; iterations still
running when the graceful stop runs out are counted as interrupted (with their requests); and nothing is sent
after the run has ended, not even a retry of a request cut off on a closing connection."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from greenflag.load.engine.runner import run_load
from greenflag.load.engine.schedules import Stage
from greenflag.load.run import LoadRequest, prepare
from tests.integration.load.counting_server import CountingServer
from tests.support import wait_until

pytestmark = pytest.mark.timeout(120)

JOURNEY = """
from greenflag import User, task

class TwoRequests(User):
    @task
    async def two(self):
        await self.http.get("/first", name="first")
        await self.http.get("/second", name="second")
"""

# each executor with a duration (or max duration) that ends while VUs wait on the slow endpoint
EXECUTORS: dict[str, dict[str, Any]] = {
    "constant-vus": {"vus": 6, "duration": 0.8},
    "ramping-vus": {"stages": (Stage(0.4, 3), Stage(0.4, 6))},
    "constant-arrival-rate": {"rate": 30, "duration": 0.8, "vus": 4, "max_vus": 30},
    "ramping-arrival-rate": {"rate": 10, "stages": (Stage(0.8, 40),), "vus": 4, "max_vus": 30},
    "shared-iterations": {"vus": 4, "iterations": 1000, "duration": 0.8},
    "per-vu-iterations": {"executor": "per-vu-iterations", "vus": 3, "iterations": 1000, "duration": 0.8},
}


async def run(target: str, **options: Any) -> dict[str, Any]:
    make, config = prepare(LoadRequest(target=target, progress=False, **options))
    result = await run_load(make, config)
    return result.summary


def settled(server: CountingServer) -> None:
    """Wait until the server has read everything the run sent: no connection waits for a request head (every
    connection of the run is closed, or holds a request the slow endpoint has not answered yet)."""
    wait_until(lambda: server.reading == 0, timeout=10, what="every connection of the run to be closed")


def journey(tmp_path: Path) -> str:
    path = tmp_path / "two.py"
    path.write_text(textwrap.dedent(JOURNEY))
    return str(path)


@pytest.mark.parametrize("executor", list(EXECUTORS))
async def test_url_mode_counts_equal_the_servers_at_the_end(executor: str, server: CountingServer) -> None:
    server.delay = 0.25  # a slow endpoint: every VU has a request in flight when the duration ends
    summary = await run(server.url, **EXECUTORS[executor])
    settled(server)
    metrics = summary["metrics"]
    assert summary["executor"]["name"] == executor
    assert metrics["http_reqs"]["count"] == server.received == server.count > 0
    assert metrics["iterations"]["count"] == server.received
    assert metrics["interrupted_iterations"]["count"] == 0
    assert summary["errors"] == {}
    assert summary["duration_s"] < 10  # the 30 s graceful stop ends as soon as nothing is in flight


@pytest.mark.parametrize("executor", list(EXECUTORS))
async def test_journey_counts_equal_the_servers_at_the_end(
    executor: str, server: CountingServer, tmp_path: Path
) -> None:
    """A journey of two requests: an iteration in flight at the end sends its second request during the
    graceful stop, and both count; no iteration starts after the duration."""
    server.delay = 0.2
    summary = await run(journey(tmp_path), host=server.url, **EXECUTORS[executor])
    settled(server)
    metrics = summary["metrics"]
    assert metrics["http_reqs"]["count"] == server.received == server.count > 0
    assert summary["by_name"]["first"]["http_reqs"]["count"] == summary["by_name"]["second"]["http_reqs"]["count"]
    assert metrics["iterations"]["count"] * 2 == server.received
    assert metrics["interrupted_iterations"]["count"] == 0


async def test_iterations_still_running_after_the_graceful_stop_are_interrupted_and_counted(
    server: CountingServer, tmp_path: Path
) -> None:
    """Each response takes 2 s; the graceful stop is 0.2 s. The run does not wait for the answers: every
    iteration is interrupted, counted as such, and its request (which the server did receive) is counted as a
    request of error class `interrupted`."""
    server.delay = 2.0
    summary = await run(server.url, vus=3, duration=0.3, graceful_stop=0.2)
    answered_by_then = server.count
    settled(server)
    metrics = summary["metrics"]
    assert answered_by_then == 0  # it did not wait for the 2 s answers
    assert metrics["http_reqs"]["count"] == server.received == 3
    assert metrics["iterations"]["count"] == 0
    assert metrics["interrupted_iterations"]["count"] == 3
    assert summary["errors"] == {"interrupted": 3}
    assert metrics["http_req_failed"]["fails"] == 3
    assert metrics["http_req_duration"]["count"] == 0  # no response, no timings
    assert summary["executor"]["graceful_stop_s"] == 0.2
    assert [w["id"] for w in summary["warnings"]] == ["interrupted_iterations"]

    server.reset()
    server.delay = 2.0
    summary = await run(journey(tmp_path), host=server.url, vus=2, duration=0.3, graceful_stop=0.2)
    settled(server)
    assert summary["metrics"]["http_reqs"]["count"] == server.received == 2
    assert summary["metrics"]["interrupted_iterations"]["count"] == 2
    assert summary["by_name"]["first"]["status"] == {"0": 2}


async def test_a_graceful_stop_of_zero_interrupts_at_once(server: CountingServer) -> None:
    server.delay = 2.0
    summary = await run(server.url, rate=10, duration=0.35, graceful_stop=0)
    answered_by_then = server.count
    settled(server)
    assert answered_by_then == 0
    assert summary["metrics"]["http_reqs"]["count"] == server.received == 4
    assert summary["metrics"]["interrupted_iterations"]["count"] == 4


async def test_graceful_stop_from_the_scenario_file_and_the_command_line(
    server: CountingServer, tmp_path: Path
) -> None:
    """k6's `gracefulStop` in the file's options; the command line wins over it."""
    path = tmp_path / "graceful.py"
    path.write_text("options = {'gracefulStop': '200ms'}\n" + textwrap.dedent(JOURNEY))
    server.delay = 1.0
    summary = await run(str(path), host=server.url, vus=1, duration=0.2)
    assert summary["executor"]["graceful_stop_s"] == 0.2
    assert summary["metrics"]["interrupted_iterations"]["count"] == 1
    server.reset()
    server.delay = 0.3
    summary = await run(str(path), host=server.url, vus=1, duration=0.2, graceful_stop=5.0)
    assert summary["executor"]["graceful_stop_s"] == 5.0
    assert summary["metrics"]["interrupted_iterations"]["count"] == 0
    assert summary["metrics"]["iterations"]["count"] == 1


async def test_a_request_cut_off_at_the_end_is_not_sent_again(server: CountingServer) -> None:
    """Open model on live keep-alive connections (requests started from the response callback), then the server
    stalls: the requests in flight when the graceful stop runs out are cut off. Their connections close, which
    looks like a stale keep-alive connection, but nothing is retried after the end: the server received exactly
    what greenflag counts."""
    server.stall(10.0, after_requests=12)
    summary = await run(server.url, rate=40, duration=1.0, vus=4, max_vus=4, graceful_stop=0.2)
    settled(server)
    metrics = summary["metrics"]
    assert metrics["http_reqs"]["count"] == server.received
    assert metrics["interrupted_iterations"]["count"] == 4
    assert summary["errors"] == {"interrupted": 4}
    assert metrics["iterations"]["count"] + 4 + metrics["dropped_iterations"]["count"] == 40
    assert summary["latency_lower_bound"] is True


async def test_the_pause_after_a_task_does_not_hold_the_end(server: CountingServer, tmp_path: Path) -> None:
    """A journey that waits 30 s after each task: when the duration is over the pause is cut short, so the
    iteration ends complete (not interrupted) without waiting out the graceful stop."""
    path = tmp_path / "slow_pace.py"
    path.write_text(JOURNEY.replace("class TwoRequests(User):", "class TwoRequests(User):\n    wait_time = 30"))
    summary = await run(str(path), host=server.url, vus=2, duration=0.5, graceful_stop=20)
    assert summary["metrics"]["iterations"]["count"] == 2
    assert summary["metrics"]["interrupted_iterations"]["count"] == 0
    assert summary["duration_s"] < 20
