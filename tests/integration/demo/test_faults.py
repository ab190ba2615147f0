"""The reference service's life cycle and fault options, each on its own real process on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from greenflag.demo.process import DemoAppProcess, run_demo_app, start_demo_app, stop_demo_app
from tests.support import free_port, wait_until_async

pytestmark = pytest.mark.timeout(60)


async def status(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(url) as resp:
        await resp.read()
        return resp.status


async def metric(http: aiohttp.ClientSession, app: DemoAppProcess, name: str) -> float:
    async with http.get(app.url + "/metrics") as resp:
        for line in (await resp.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_readiness_is_false_during_startup_delay_then_true() -> None:
    with run_demo_app("v1", ["--startup-delay-s", "2"], wait_ready=False) as app:
        async with aiohttp.ClientSession() as http:
            async with http.get(app.url + "/healthz/ready") as resp:
                assert resp.status == 503
                assert (await resp.json())["status"] == "starting"
            assert await status(http, app.url + "/healthz/live") == 200
            assert await status(http, app.url + "/") == 503

            async def ready() -> bool:
                return await status(http, app.url + "/healthz/ready") == 200

            await wait_until_async(ready, timeout=15, what="/healthz/ready → 200")
            assert await status(http, app.url + "/") == 200


async def test_fail_readiness_keeps_ready_false_but_serves() -> None:
    with run_demo_app("v1", ["--fail-readiness"], wait_ready=False) as app:
        async with aiohttp.ClientSession() as http:

            async def serving() -> bool:
                return await status(http, app.url + "/") == 200

            await wait_until_async(serving, timeout=15, what="/ → 200")
            async with http.get(app.url + "/healthz/ready") as resp:
                assert resp.status == 503
                assert (await resp.json())["status"] == "failing"


async def test_error_rate_one_answers_500_except_operations_endpoints() -> None:
    with run_demo_app("v2", ["--error-rate", "1.0"]) as app:
        async with aiohttp.ClientSession() as http:
            for path in ("/", "/about", "/api/items", "/contact"):
                async with http.get(app.url + path) as resp:
                    assert resp.status == 500
                    assert resp.headers["X-Greenflag-Version"] == "v2"
            for path in ("/healthz/live", "/healthz/ready", "/version", "/metrics"):
                assert await status(http, app.url + path) == 200
            async with http.get(app.url + "/metrics") as resp:
                text = await resp.text()
            assert 'greenflag_demo_http_requests_total{method="GET",path="/",status="500"} 1.0' in text
            assert 'greenflag_demo_injected_faults_total{kind="error"} 4.0' in text


async def test_faults_start_after_faults_after_s() -> None:
    with run_demo_app("v2", ["--error-rate", "1.0", "--faults-after-s", "1.5"]) as app:
        async with aiohttp.ClientSession() as http:
            assert await status(http, app.url + "/") == 200

            async def failing() -> bool:
                return await status(http, app.url + "/") == 500

            await wait_until_async(failing, timeout=15, what="/ → 500 once the faults started")


async def test_latency_is_added() -> None:
    with run_demo_app("v1", ["--latency-ms", "300", "--latency-jitter-ms", "50"]) as app:
        async with aiohttp.ClientSession() as http:
            began = time.monotonic()
            assert await status(http, app.url + "/about") == 200
            assert time.monotonic() - began >= 0.25
            began = time.monotonic()
            assert await status(http, app.url + "/healthz/ready") == 200
            assert time.monotonic() - began < 0.25


async def test_crash_after_n_requests(tmp_path: Path) -> None:
    app = start_demo_app("v3", ["--crash-after", "3"], stderr=subprocess.PIPE, env={"TMPDIR": str(tmp_path)})
    try:
        app.wait_ready()
        async with aiohttp.ClientSession() as http:
            for _ in range(3):
                assert await status(http, app.url + "/") == 200
                assert await status(http, app.url + "/healthz/ready") == 200  # probes do not count
            with pytest.raises(aiohttp.ClientError):
                await status(http, app.url + "/")
        assert app.proc.wait(timeout=10) == 1
        assert app.proc.stderr is not None
        assert b"--crash-after" in app.proc.stderr.read()
        assert not list(tmp_path.glob("greenflag-demo-*")), "the temporary database is removed even by a crash"
    finally:
        stop_demo_app(app.proc)
        if app.proc.stderr is not None:
            app.proc.stderr.close()


async def test_sigterm_finishes_in_flight_requests_and_ends_sse_streams(tmp_path: Path) -> None:
    env = {"TMPDIR": str(tmp_path)}
    with run_demo_app("v1", ["--latency-ms", "3000"], env=env) as app:
        assert list(tmp_path.glob(f"greenflag-demo-{app.proc.pid}-*.sqlite3"))  # the default database
        async with aiohttp.ClientSession() as http, aiohttp.ClientSession() as streams:
            # SSE is an ordinary route: it waits out the injected latency too, before its first event.
            async with streams.get(app.url + "/events") as stream:
                assert (await stream.content.readuntil(b"\n\n")).startswith(b"retry:")
                slow = asyncio.create_task(status(http, app.url + "/about"))

                async def in_flight() -> bool:  # the stream, the slow request and this /metrics request
                    return await metric(streams, app, "greenflag_demo_http_requests_in_flight") >= 3

                await wait_until_async(in_flight, timeout=10, what="the slow request to be in flight")
                app.proc.send_signal(signal.SIGTERM)

                async def refused() -> bool:
                    try:
                        _, writer = await asyncio.open_connection("127.0.0.1", app.port)
                    except OSError:
                        return True
                    writer.close()
                    return False

                await wait_until_async(refused, timeout=5, what="new connections to be refused")
                assert not slow.done(), "the slow request should still be in flight"
                rest = await asyncio.wait_for(stream.content.read(), timeout=10)  # a clean end of the stream
                assert rest.count(b"event: tick") <= 1
            assert await asyncio.wait_for(slow, timeout=10) == 200
        assert app.proc.wait(timeout=10) == 0
    assert not list(tmp_path.glob("greenflag-demo-*")), "the temporary database is removed on exit"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "greenflag", "demo-app", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=os.environ.copy(), check=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--error-rate", "2"], "--error-rate"),
        (["--latency-ms", "-5"], "--latency-ms"),
        (["--crash-after", "-1"], "--crash-after"),
        (["--db", "/nonexistent-dir/x/demo.sqlite3"], "--db"),
    ],
)
def test_bad_options_exit_2_with_a_message(args: list[str], message: str) -> None:
    result = run_cli("--port", "0", "--version", "v1", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_exits_2() -> None:
    port = free_port()
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        result = run_cli("--port", str(port), "--version", "v1")
    assert result.returncode == 2, result.stderr
    assert f"--port {port}" in result.stderr
    assert "Traceback" not in result.stderr
