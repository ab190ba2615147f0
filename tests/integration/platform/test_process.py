"""The process platform against real processes: launch on free ports, re-adoption, SIGTERM then SIGKILL."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

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


# -- no value becomes an argument or code ------------------------------------------------------------------------

# A shell template of the kind users write, with {version} inside the script and a command substitution of its own.
SHELL_TEMPLATE = (
    'sh -c \'echo "version=[{version}] port={port} service={service} instance={instance}" > seen-{instance}.txt; '
    f"exec {sys.executable} -m http.server {{port}} --bind 127.0.0.1'"
)


@pytest.mark.parametrize("version", ["v4 --error-rate 1", "$(touch pwned)", "v1;touch pwned", "`touch pwned`"])
async def test_a_version_that_is_not_a_version_name_is_not_launched(tmp_path: Path, version: str) -> None:
    p = platform(tmp_path, SHELL_TEMPLATE, cwd=str(tmp_path))
    with pytest.raises(ValueError, match="not a version name"):
        await p.launch(version)
    assert await p.instances() == [] and not (tmp_path / "pwned").exists()
    assert list(tmp_path.glob("seen-*")) == []


async def test_a_sh_c_template_gets_its_values_through_the_environment(tmp_path: Path) -> None:
    p = platform(tmp_path, SHELL_TEMPLATE, cwd=str(tmp_path))
    (instance,) = await p.launch("v2.1-rc_1")
    try:
        wait_until(lambda: http_get(instance.url + "/")[0] == 200, timeout=20, what="instance serves")
        port = instance.url.rsplit(":", 1)[1]
        seen = (tmp_path / "seen-v2.1-rc_1-0.txt").read_text().strip()
        assert seen == f"version=[v2.1-rc_1] port={port} service=svc instance=v2.1-rc_1-0"
        cmdline = Path(f"/proc/{instance.pid}/cmdline").read_bytes().split(b"\0")
        assert b"v2.1-rc_1" not in b" ".join(cmdline[:3]), "the value is never pasted into the script"
    finally:
        await p.stop_all(grace_s=2)


def test_even_a_hostile_value_that_reached_a_shell_template_runs_no_code(tmp_path: Path) -> None:
    """The template layer alone (below version validation): `$(…)`, backticks and `;` in a value stay data."""
    import os
    import subprocess

    from greenflag.platform.template import command_argv, command_env

    values = {"port": "1", "version": "$(touch pwned) `touch pwned2`; touch pwned3", "service": "s", "instance": "i"}
    argv = command_argv("sh -c 'printf %s \"{version}\" > out.txt; echo {version} >> out.txt'", values)
    subprocess.run(argv, env={**os.environ, **command_env(values)}, cwd=tmp_path, check=True, timeout=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"], "nothing but the output was created"
    lines = (tmp_path / "out.txt").read_text().splitlines()
    assert lines == [values["version"] + values["version"]]  # printf without newline, then echo's line


async def test_a_shell_instance_is_readopted_before_it_execs(tmp_path: Path) -> None:
    """`sh -c '…exec app --port ${GREENFLAG_PORT}'`: before the exec the command line holds no port number; the
    instance is still recognised (its environment carries GREENFLAG_PORT), not taken for a dead one."""
    command = f"sh -c 'sleep 2; exec {sys.executable} -m http.server {{port}} --bind 127.0.0.1'"
    first = platform(tmp_path, command)
    (instance,) = await first.launch("v1")
    second = platform(tmp_path, command)  # a restarted controller, while the shell still sleeps
    assert await second.instances() == [instance]
    await second.stop_all(grace_s=5)
