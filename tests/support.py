"""Shared test support: free ports, condition waits with deadlines, real server processes on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "DEMO_APP_COMMAND",
    "DEMO_PLATFORM",
    "DEMO_PLATFORM_YAML",
    "accepting",
    "free_port",
    "greenflag_cmd",
    "http_get",
    "local_release",
    "release_spec",
    "save_spec",
    "start_process",
    "wait_until",
    "wait_until_async",
]

ROOT = Path(__file__).resolve().parent.parent

# The smallest `platform:` a release spec can name (the key is required): the reference service.
DEMO_PLATFORM: dict[str, str] = {"command": "greenflag demo-app --port {port} --version {version}"}
DEMO_PLATFORM_YAML = 'platform: {command: "greenflag demo-app --port {port} --version {version}"}\n'  # one line


def release_spec(service: str = "shop", **sections: Any) -> dict[str, Any]:
    """The smallest valid greenflag.yaml as data — service, platform and a one-step canary — with `sections` added
    or replacing those."""
    spec: dict[str, Any] = {
        "service": service,
        "platform": dict(DEMO_PLATFORM),
        "strategy": {"canary": {"steps": [{"set_weight": 100}]}},
    }
    return {**spec, **sections}


def _ephemeral_range() -> tuple[int, int]:
    """The ports the kernel gives to outgoing connections and to `bind(0)` (Linux's ip_local_port_range)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a server a test starts later. It is taken below the kernel's ephemeral
    range when there is room there: a port from that range can be given to one of the many outgoing connections
    of a load test running beside it between this check and the server's bind ("Address already in use")."""
    low, _ = _ephemeral_range()
    rng = random.SystemRandom()
    for _ in range(200) if low > 12000 else ():
        port = rng.randrange(10000, low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepting(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port right now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(condition: Callable[[], bool], *, timeout: float = 10.0, interval: float = 0.02, what: str = "") -> None:
    """Poll `condition` until it holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if condition():
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition!r}")
        time.sleep(interval)


async def wait_until_async(
    condition: Callable[[], Awaitable[bool]], *, timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if await condition():
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition!r}")
        await asyncio.sleep(interval)


async def until_answered(load: Any, more: int, *, sent_after: float | None = None, timeout: float = 10.0) -> None:
    """Wait until a `PacedLoad` has `more` further answers (with `sent_after`, a monotonic instant: `more` answers to
    requests sent after it, which needs `record=True`): traffic that went through, not time that passed."""
    if sent_after is None:
        base = sum(load.counts.values())

        def done() -> bool:
            return bool(sum(load.counts.values()) >= base + more)
    else:

        def done() -> bool:
            return sum(1 for sent, *_ in load.log if sent > sent_after) >= more

    await wait_until_async(lambda: asyncio.sleep(0, done()), timeout=timeout, what=f"{more} more answers")


def http_get(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read()


# platform.command of this checkout's reference service; each version also gets the options written in
# `VERSION.args` in the platform's cwd (no file: none), which is how a test makes a version faulty
DEMO_APP_COMMAND = (
    f"sh -c 'exec {sys.executable} -m greenflag demo-app --port {{port}} --version {{version}} "
    "$(cat {version}.args 2>/dev/null)'"
)


def local_release(tmp: Path, service: str = "shop", **sections: Any) -> dict[str, Any]:
    """A release spec that runs here: the embedded router on free loopback ports, each version a process of the
    reference service (DEMO_APP_COMMAND, from `tmp`), a 100 ms readiness gate and a one-step canary. `sections`
    add or replace sections; `platform` keys are added to the default platform."""
    platform = {"command": DEMO_APP_COMMAND, "stop_grace": "3s", "start_timeout": "40s", "cwd": str(tmp)}
    spec: dict[str, Any] = {
        "service": service,
        "router": {"listen": f"127.0.0.1:{free_port()}", "admin": f"127.0.0.1:{free_port()}"},
        "platform": {**platform, **sections.pop("platform", {})},
        "health": {"readiness": {"http": "/healthz/ready", "interval": "100ms"}},
        "strategy": {"canary": {"steps": [{"set_weight": 100}]}},
    }
    return {**spec, **sections}


def save_spec(directory: Path, spec: dict[str, Any]) -> Path:
    """`spec` as `directory/greenflag.yaml`; its path."""
    import yaml

    path = directory / "greenflag.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def greenflag_cmd(*args: str) -> list[str]:
    """The greenflag CLI as a subprocess command (same interpreter as the tests)."""
    return [sys.executable, "-m", "greenflag", *args]


@contextlib.contextmanager
def start_process(
    cmd: list[str],
    *,
    ready_url: str | None = None,
    ready: Callable[[], bool] | None = None,
    timeout: float = 20.0,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process, wait until it is ready, and stop it (SIGTERM, then SIGKILL) afterwards."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        cmd, env=full_env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:

        def is_ready() -> bool:
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                raise AssertionError(f"{cmd[0]} exited with {proc.returncode}: {out[-2000:]}")
            if ready_url is not None:
                return http_get(ready_url, timeout=1.0)[0] < 500
            return ready() if ready is not None else True

        deadline = time.monotonic() + timeout
        while True:
            try:
                if is_ready():
                    break
            except AssertionError:
                raise
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{' '.join(cmd)} not ready after {timeout}s")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()
