"""Scripted Python journeys against the real reference service (`greenflag demo-app`) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import subprocess
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from greenflag.load.engine.runner import run_load
from greenflag.load.http.session import HttpSession
from greenflag.load.http.sse import SSEStream
from greenflag.load.metrics.series import Registry
from greenflag.load.run import LoadRequest, prepare
from tests.support import ROOT, greenflag_cmd, http_get, start_process, wait_until

pytestmark = pytest.mark.timeout(90)


def _listening_url(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> str:
    """Read `listening on http://127.0.0.1:PORT` from the service's stdout (bounded by `timeout`)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffer = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no 'listening on' line within {timeout}s: {buffer!r}"
        readable, _, _ = select.select([fd], [], [], min(remaining, 0.2))
        if readable:
            chunk = os.read(fd, 4096)
            assert chunk, f"demo-app exited before listening: {buffer!r}"
            buffer += chunk
    line = buffer.split(b"\n", 1)[0].decode().strip()
    assert line.startswith("listening on http://127.0.0.1:"), line
    return line.removeprefix("listening on ")


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("journeys") / "demo.sqlite3"
    cmd = greenflag_cmd(
        "demo-app", "--port", "0", "--version", "vj", "--db", str(db), "--sse-interval-ms", "50",
        "--sse-retry-ms", "100",
    )  # fmt: skip
    with start_process(cmd) as proc:
        url = _listening_url(proc)
        wait_until(lambda: http_get(url + "/healthz/ready")[0] == 200, timeout=20, what="demo-app ready")
        yield url


def contacts_count(url: str) -> int:
    status, body = http_get(url + "/api/contacts?latest=0", timeout=5)
    assert status == 200, body
    return int(json.loads(body)["count"])


def write_script(tmp_path: Path, body: str, name: str = "journeys.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


async def run_script(path: Path, url: str, **kwargs: Any) -> dict[str, Any]:
    request = LoadRequest(target=str(path), host=url, progress=False, graceful_stop=5.0, **kwargs)
    make, config = prepare(request)
    result = await run_load(make, config)
    return result.summary


async def test_contact_form_with_csrf_is_stored(demo_url: str, tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        from greenflag import User, task

        class Writer(User):
            @task
            async def contact(self):
                page = await self.http.get("/contact", name="contact form")
                sent = await page.submit_form(
                    "form#contact", {"email": f"vu{self.vu_id}@example.com", "message": "hello"}, name="submit"
                )
                self.check(sent, "stored", lambda r: [h.status for h in r.history] == [303] and r.status == 200)
        """,
    )
    before = contacts_count(demo_url)
    summary = await run_script(script, demo_url, vus=4, iterations=24, executor="shared-iterations")
    passes = summary["checks"]["stored"]["passes"]
    assert passes == 24 and summary["checks"]["stored"]["fails"] == 0
    assert contacts_count(demo_url) - before == passes
    assert summary["by_name"]["submit"]["status"] == {"303": 24}
    assert summary["by_name"]["/contact/thanks"]["status"] == {"200": 24}


async def test_post_without_token_is_forbidden(demo_url: str) -> None:
    from greenflag.load.http.client import parse_target

    session = HttpSession(Registry(start=time.perf_counter()), parse_target(demo_url))
    try:
        await session.get("/contact")  # a session cookie, but no token in the post
        resp = await session.post("/contact", data={"email": "a@example.com", "message": "hi"}, name="no token")
        assert resp.status == 403
        assert "CSRF" in resp.text
        assert resp.form("form#contact").values()["csrf_token"]  # the form comes back with a fresh token
        assert session.registry.series_for("no token", "POST", 403).reqs == 1
    finally:
        session.close()


async def test_sse_reconnect_resumes_from_last_id(demo_url: str) -> None:
    from greenflag.load.http.client import parse_target

    registry = Registry(start=time.perf_counter())
    session = HttpSession(registry, parse_target(demo_url))
    ids = []
    async with session.sse("/events?limit=2", name="events") as stream:
        assert isinstance(stream, SSEStream)
        for _ in range(5):
            event = await stream.next_event(timeout=10)
            assert event is not None
            ids.append(int(event.id or 0))
        assert stream.reconnects == 2
    assert ids == [1, 2, 3, 4, 5]  # the server ends every stream after 2 events; each reconnect resumes
    tags = (("name", "events"),)
    assert registry.counters[("sse_reconnects", tags)] == 2
    assert registry.counters[("sse_events", tags)] == 5
    for trend in ("sse_time_to_first_event", "sse_event_gap", "sse_stream_duration"):
        hist = registry.custom_trend(trend)
        assert hist is not None and hist.count > 0, trend
    assert sum(s.reqs for s in registry.series.values() if s.name == "events" and s.status == 200) == 3


async def test_sse_metrics_in_the_summary_and_thresholds(demo_url: str, tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        from greenflag import User, task

        options = {"thresholds": {"sse_time_to_first_event": ["p(95)<5000"], "sse_events": ["count>=12"]}}

        class Watcher(User):
            @task
            async def watch(self):
                with self.step("live"):
                    async with self.http.sse("/events?limit=2", name="events") as stream:
                        got = [event async for event in _take(stream, 3)]
                        self.check(got, "3 events in order", lambda g: [int(e.id) for e in g] == [1, 2, 3])

        async def _take(stream, n):
            async for event in stream:
                yield event
                n -= 1
                if n == 0:
                    return
        """,
    )
    summary = await run_script(script, demo_url, vus=2, iterations=4, executor="shared-iterations")
    metrics = summary["metrics"]
    assert summary["checks"]["3 events in order"] == {"passes": 4, "fails": 0}
    assert metrics["sse_events"]["count"] == 12 and metrics["sse_reconnects"]["count"] == 4
    for trend in ("sse_time_to_first_event", "sse_event_gap", "sse_stream_duration"):
        assert metrics[trend]["count"] > 0, trend
    assert summary["ok"] and set(summary["thresholds"]) == {"sse_time_to_first_event", "sse_events"}
    assert summary["by_step"]["live"]["step_duration"]["count"] == 4


@contextlib.asynccontextmanager
async def byte_counting_relay(upstream: str) -> AsyncIterator[tuple[str, list[int]]]:
    """A TCP relay on 127.0.0.1 in front of `upstream` (http://host:port) that counts the bytes it passes on to
    the client: the ground truth for `data_received`. Yields (relay URL, [bytes to clients])."""
    parts = urlsplit(upstream)
    to_clients = [0]

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, counted: bool) -> None:
        try:
            while data := await src.read(65536):
                if counted:
                    to_clients[0] += len(data)
                dst.write(data)
                await dst.drain()
        except ConnectionError:
            pass
        finally:
            dst.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port)
        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", to_clients
    finally:
        server.close()


async def test_sse_data_received_counts_every_event(demo_url: str, tmp_path: Path) -> None:
    """data_received counts every byte of the stream (the response head, every event, the chunked framing),
    exactly what a relay in front of the reference service passed on; not only the response head."""
    script = write_script(
        tmp_path,
        """
        from greenflag import User, task

        class Watcher(User):
            @task
            async def watch(self):
                async with self.http.sse("/events?limit=20", name="events", reconnect=False) as stream:
                    events = [event async for event in stream]
                self.check(events, "20 events", lambda got: len(got) == 20)
        """,
    )
    async with byte_counting_relay(demo_url) as (relay_url, to_clients):
        summary = await run_script(script, relay_url, vus=1, iterations=2, executor="shared-iterations")
    assert summary["checks"]["20 events"] == {"passes": 2, "fails": 0}
    received = summary["metrics"]["data_received"]["count"]
    event_bytes = 2 * 20 * len(b"id: 10\nevent: tick\ndata: {}\n\n")  # a lower bound: each event's fixed part
    assert received == to_clients[0]
    assert received > event_bytes


async def test_task_that_raises_is_counted_and_the_run_goes_on(demo_url: str, tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        """
        from greenflag import User, task

        class Flaky(User):
            @task(1)
            async def broken(self):
                await self.http.get("/about", name="about")
                raise ValueError("a bug in the journey")

            @task(1)
            async def fine(self):
                await self.http.get("/", name="home")
        """,
    )
    summary = await run_script(script, demo_url, vus=2, iterations=40, executor="shared-iterations")
    broken = summary["by_name"]["about"]["http_reqs"]["count"]
    assert summary["script_errors"] == {"ValueError": broken}
    assert summary["metrics"]["iterations"]["count"] == 40
    assert broken > 0 and summary["by_name"]["home"]["http_reqs"]["count"] == 40 - broken


def test_example_journeys_per_name_and_per_step_metrics(demo_url: str, tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    cmd = greenflag_cmd(
        "load", "run", str(ROOT / "examples" / "journeys.py"), "--host", demo_url, "--vus", "6",
        "--duration", "3s", "--quiet", "--summary-json", str(out),
    )  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(out.read_text())
    assert {"home", "pricing", "/api/items"} <= set(summary["by_name"])
    assert {"browse", "api"} <= set(summary["by_step"])
    assert summary["by_step"]["browse"]["step_duration"]["count"] > 0
    assert summary["metrics"]["step_duration"]["count"] > 0
    assert summary["checks"]["home is 200"]["fails"] == 0
    assert "script_errors" not in summary


def test_unimportable_script_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    script = write_script(tmp_path, "from greenflag import User\n\n\nimport no_such_module_here\n", "broken.py")
    done = subprocess.run(
        greenflag_cmd("load", "run", str(script), "--host", "http://127.0.0.1:9"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"{script}:4: cannot import the script: ModuleNotFoundError" in done.stderr
    assert "Traceback" not in done.stderr
