"""Faults against real things: two reference-service processes behind the embedded router, real processes for
kill/freeze, a real tmpfs for disk full. Every fault must be reverted on exit, also when the body raises."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from greenflag.demo.process import DemoAppProcess, run_demo_app
from greenflag.dr.faults import BackendFault, FaultError, FillDisk, Freeze, Kill, RemoveBackend
from greenflag.spec import RouterSpec
from greenflag.traffic.embedded.server import EmbeddedRouter
from tests.support import wait_until, wait_until_async

pytestmark = pytest.mark.timeout(120)

TOKEN = "fault-token"


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, DemoAppProcess]]:
    with run_demo_app("v1") as blue, run_demo_app("v2") as green:
        yield {"blue": blue, "green": green}


@pytest.fixture
async def router(backends: dict[str, DemoAppProcess]) -> AsyncIterator[EmbeddedRouter]:
    spec = RouterSpec(listen="127.0.0.1:0", admin="127.0.0.1:0", backends={n: b.url for n, b in backends.items()},
                      weights={"blue": 0, "green": 100}, drain_timeout=1.0)  # fmt: skip
    r = EmbeddedRouter(spec, admin_token=TOKEN)
    await r.start()
    yield r
    await r.stop(grace=1.0)


async def statuses(url: str, n: int, timeout: float = 10.0) -> list[int]:
    """n sequential GETs over one keep-alive session."""
    out = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        for _ in range(n):
            async with session.get(url) as resp:
                await resp.read()
                out.append(resp.status)
    return out


def urls(router: EmbeddedRouter) -> dict[str, str]:
    return {name: state.url for name, state in router.backend_states().items()}


async def test_failing_backend_answers_5xx_and_is_restored(router: EmbeddedRouter) -> None:
    assert router.admin_url is not None
    before = urls(router)
    async with BackendFault(router.admin_url, TOKEN, "green", error_rate=1.0, error_status=503) as fault:
        assert fault.proxy is not None
        assert urls(router)["green"] == fault.proxy.url
        assert await statuses(router.url + "/version", 20) == [503] * 20
        assert fault.proxy.counters.errors == 20
    assert urls(router) == before
    assert await statuses(router.url + "/version", 5) == [200] * 5
    assert router.weights()["green"] == 100  # re-pointing kept the weight


async def test_error_rate_is_drawn_per_request_on_keep_alive_connections(router: EmbeddedRouter) -> None:
    assert router.admin_url is not None
    async with BackendFault(router.admin_url, TOKEN, "green", error_rate=0.5, seed=7) as fault:
        seen = await statuses(router.url + "/version", 200)
        assert fault.proxy is not None
        # a per-connection draw would give all-or-nothing runs per pooled connection; per request it is ~50 %
        assert 60 <= seen.count(503) <= 140, seen.count(503)
        assert seen.count(200) + seen.count(503) == 200
        counters = fault.proxy.counters  # each injected 503 closes its connection; forwarded requests share theirs
        assert counters.connections - counters.errors < counters.requests


async def test_slow_backend_delays_each_response(router: EmbeddedRouter) -> None:
    assert router.admin_url is not None
    async with BackendFault(router.admin_url, TOKEN, "green", latency=0.3), aiohttp.ClientSession() as session:
        for _ in range(3):
            began = time.monotonic()
            async with session.get(router.url + "/version") as resp:
                assert resp.status == 200
                await resp.read()
            assert time.monotonic() - began >= 0.3
    assert await statuses(router.url + "/version", 3) == [200] * 3


async def test_resetting_backend_gives_502(router: EmbeddedRouter) -> None:
    assert router.admin_url is not None
    async with BackendFault(router.admin_url, TOKEN, "green", reset_rate=1.0) as fault:
        assert set(await statuses(router.url + "/version", 5)) == {502}
        assert fault.proxy is not None and fault.proxy.counters.resets >= 5
    assert await statuses(router.url + "/version", 3) == [200] * 3


async def test_backend_fault_is_reverted_when_the_body_raises(router: EmbeddedRouter) -> None:
    assert router.admin_url is not None
    before = urls(router)
    fault = BackendFault(router.admin_url, TOKEN, "green", error_rate=1.0)
    with pytest.raises(RuntimeError, match="boom"):
        async with fault:
            assert urls(router) != before
            raise RuntimeError("boom")
    assert urls(router) == before
    assert fault.proxy is None  # stopped
    await fault.revert()  # idempotent
    assert urls(router) == before


async def test_unknown_backend_is_a_clear_error(router: EmbeddedRouter) -> None:
    assert router.admin_url is not None
    with pytest.raises(FaultError, match=r"no backend 'purple'.*blue, green"):
        async with BackendFault(router.admin_url, TOKEN, "purple", error_rate=1.0):
            pass


async def test_remove_backend_and_put_it_back_with_its_weight(router: EmbeddedRouter) -> None:
    assert router.admin_url is not None
    router.set_weights({"blue": 50, "green": 50})
    with pytest.raises(RuntimeError):
        async with RemoveBackend(router.admin_url, TOKEN, "green"):
            await wait_until_async(lambda: _gone(router, "green"), what="green forgotten after draining")
            async with aiohttp.ClientSession() as session:
                for _ in range(20):
                    async with session.get(router.url + "/version") as resp:
                        assert resp.headers["X-Greenflag-Version"] == "v1"
            raise RuntimeError("body failed")
    assert "green" in urls(router) and router.weights()["green"] == 50


async def _gone(router: EmbeddedRouter, name: str) -> bool:
    return name not in router.backend_states()


def _state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rfind(")") + 2]


async def test_freeze_stops_a_process_and_revert_always_thaws_it() -> None:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        with pytest.raises(ValueError):
            async with Freeze(proc.pid):
                wait_until(lambda: _state(proc.pid) == "T", what="stopped")
                raise ValueError("body failed")
        wait_until(lambda: _state(proc.pid) == "S", what="running again")
        fault = Freeze(proc.pid, seconds=0.2)
        await fault.inject()
        wait_until(lambda: _state(proc.pid) == "T", what="stopped")
        await wait_until_async(_async(lambda: _state(proc.pid) == "S"), what="thawed by itself after 0.2 s")
        await fault.revert()
        await fault.revert()
        assert _state(proc.pid) == "S"
    finally:
        proc.kill()
        proc.wait()


def _async(fn: object) -> object:
    async def check() -> bool:
        return bool(fn())  # type: ignore[operator]

    return check


async def test_kill_sends_sigkill() -> None:
    proc = subprocess.Popen(["sleep", "60"])
    async with Kill(proc.pid):
        pass
    assert proc.wait(10) == -9
    with pytest.raises(FaultError, match="no process"):
        await Kill(proc.pid).inject()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
async def test_fill_disk_fills_a_dedicated_tmpfs_and_cleans_up() -> None:
    disk = FillDisk(size=4 * 1024 * 1024)
    mount = await disk.mount()  # the service's data goes on the dedicated filesystem first
    assert os.path.ismount(mount)
    conn = sqlite3.connect(mount / "app.db")
    conn.execute("CREATE TABLE t (b BLOB)")
    conn.commit()
    with pytest.raises(RuntimeError, match="after the fault"):
        async with disk:
            with pytest.raises(sqlite3.OperationalError, match="full"):
                conn.execute("INSERT INTO t VALUES (zeroblob(1000000))")
                conn.commit()
            conn.rollback()
            await disk.revert()
            conn.execute("INSERT INTO t VALUES (zeroblob(100000))")  # room again once reverted
            conn.commit()
            raise RuntimeError("after the fault")
    # reverted and unmounted although the database is still open (a lazy unmount), mount point removed
    assert not os.path.ismount(mount) and not mount.exists()
    conn.close()


async def test_fill_disk_refuses_anything_but_a_small_dedicated_filesystem(tmp_path: Path) -> None:
    with pytest.raises(FaultError, match="not a mount point"):
        async with FillDisk(path=tmp_path):
            pass
    with pytest.raises(FaultError, match="refusing"):
        async with FillDisk(path="/"):  # the root filesystem is far larger than max_size: nothing is written
            pass
    assert not (tmp_path / ".greenflag-fill").exists()


async def test_freeze_of_a_backend_makes_requests_time_out(backends: dict[str, DemoAppProcess]) -> None:
    green = backends["green"]
    async with Freeze(green.proc.pid), aiohttp.ClientSession() as session:
        with pytest.raises(asyncio.TimeoutError):
            async with session.get(green.url + "/version", timeout=aiohttp.ClientTimeout(total=0.5)) as resp:
                await resp.read()
    assert await statuses(green.url + "/version", 2) == [200, 200]
