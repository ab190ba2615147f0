"""The process platform against real processes: launch on free ports, re-adoption, SIGTERM then SIGKILL."""

from __future__ import annotations

import sys
from pathlib import Path

from greenflag.platform.process import ProcessPlatform, pid_alive
from greenflag.rollout.store import Store
from greenflag.spec import PlatformSpec
from tests.support import http_get, wait_until, wait_until_async

SERVER = f"{sys.executable} -m http.server {{port}} --bind 127.0.0.1"
STUBBORN = (
    f'{sys.executable} -c "import signal, http.server as h; signal.signal(signal.SIGTERM, signal.SIG_IGN); '
    "h.HTTPServer(('127.0.0.1', {port}), h.SimpleHTTPRequestHandler).serve_forever()\" {version}"
)


def platform(tmp_path: Path, command: str, **extra: object) -> ProcessPlatform:
    spec = PlatformSpec.model_validate({"command": command, "stop_grace": "300ms", **extra})
    return ProcessPlatform("svc", spec, Store(tmp_path / "state.db"), log_dir=tmp_path / "logs")


async def test_launch_serves_on_a_free_port_and_stops(tmp_path: Path) -> None:
    p = platform(tmp_path, SERVER, instances=2)
    instances = await p.launch("v1")
    assert [i.id for i in instances] == ["v1-0", "v1-1"]
    assert len({i.url for i in instances}) == 2
    for instance in instances:
        wait_until(lambda i=instance: http_get(i.url + "/")[0] == 200, timeout=20, what=f"{instance.url} serves")
    assert await p.launch("v1") == instances, "launch is idempotent"
    await p.stop("v1", grace_s=5)
    assert await p.instances() == []
    assert not any(pid_alive(i.pid or 0) for i in instances)


async def test_a_new_platform_readopts_live_instances(tmp_path: Path) -> None:
    first = platform(tmp_path, SERVER)
    (instance,) = await first.launch("v1")
    second = platform(tmp_path, SERVER)  # a restarted controller: same journal, no children
    assert await second.instances() == [instance]
    assert await second.launch("v1") == [instance]
    await second.stop_all(grace_s=5)
    await wait_until_async(lambda: _dead(instance.pid), timeout=10, what="instance stopped")


async def _dead(pid: int | None) -> bool:
    return not pid_alive(pid or 0)


async def test_sigkill_after_the_grace_period(tmp_path: Path) -> None:
    p = platform(tmp_path, STUBBORN)
    (instance,) = await p.launch("v1")
    wait_until(lambda: http_get(instance.url + "/")[0] == 200, timeout=20, what="stubborn server up")
    await p.stop("v1", grace_s=0.3)
    assert not pid_alive(instance.pid or 0)


async def test_dead_instances_are_forgotten(tmp_path: Path) -> None:
    p = platform(tmp_path, f"{sys.executable} -c 'import sys; sys.exit(0)' {{port}}")
    await p.launch("v1")
    await wait_until_async(lambda: _empty(p), timeout=10, what="exited instance forgotten")


async def _empty(p: ProcessPlatform) -> bool:
    return await p.instances() == []


async def test_the_serving_version_is_restarted_when_its_liveness_fails(tmp_path: Path) -> None:
    from greenflag.rollout.controller import Controller
    from greenflag.spec import Spec
    from greenflag.testing import FakeRouter

    (tmp_path / "alive.txt").write_text("ok")
    spec = Spec.model_validate(
        {
            "service": "svc",
            "platform": {"command": SERVER, "stop_grace": "2s", "cwd": str(tmp_path)},
            "health": {"liveness": {"http": "/alive.txt", "interval": "100ms", "failure_threshold": 2}},
            "strategy": {"canary": {"preset": "AllAtOnce"}},
            "state_dir": str(tmp_path / ".greenflag"),
        }
    )
    store = Store(tmp_path / ".greenflag" / "state.db")
    p = ProcessPlatform("svc", spec.platform, store, log_dir=tmp_path / "logs")
    controller = Controller(spec, router=FakeRouter(), platform=p, store=store, tick_s=0.05)
    controller.start("v1")
    assert (await controller.run()).promoted
    (before,) = await p.instances()
    (tmp_path / "alive.txt").unlink()  # liveness now answers 404

    async def restarted() -> bool:
        await controller.tick()
        instances = await p.instances()
        return len(instances) == 1 and instances[0].pid != before.pid

    await wait_until_async(restarted, timeout=30, interval=0.05, what="v1 restarted")
    (tmp_path / "alive.txt").write_text("ok")
    await controller.aclose()
    await p.stop_all(grace_s=5)
