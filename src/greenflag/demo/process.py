"""Start `greenflag demo-app` as a real process and learn its URL: for tests, benchmarks and the demo story."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from typing import IO

__all__ = ["DemoAppProcess", "demo_app_command", "run_demo_app", "start_demo_app", "stop_demo_app"]

LISTENING = "listening on "


@dataclasses.dataclass
class DemoAppProcess:
    url: str  # http://127.0.0.1:PORT
    version: str
    proc: subprocess.Popen[bytes]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Poll `/healthz/ready` until it answers 200; raise TimeoutError (or RuntimeError if the process died)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"demo-app {self.version} exited with {self.proc.returncode} before it was ready")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(self.url + "/healthz/ready", timeout=1.0) as response,
            ):
                if response.status == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"demo-app {self.version} at {self.url} not ready after {timeout}s")
            time.sleep(0.02)


def demo_app_command(version: str, args: Sequence[str] = (), *, port: int = 0, host: str = "127.0.0.1") -> list[str]:
    return [
        sys.executable,
        "-m",
        "greenflag",
        "demo-app",
        "--port",
        str(port),
        "--host",
        host,
        "--version",
        version,
        *args,
    ]


def _read_listening_line(stdout: IO[bytes], proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    buffer = b""
    fd = stdout.fileno()
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"demo-app printed no '{LISTENING}' line within {timeout}s")
        readable, _, _ = select.select([fd], [], [], min(remaining, 0.1))
        if readable:
            chunk = os.read(fd, 4096)
            if not chunk:
                proc.wait(timeout=5)
                raise RuntimeError(f"demo-app exited with {proc.returncode} before listening")
            buffer += chunk
    line = buffer.split(b"\n", 1)[0].decode().strip()
    if not line.startswith(LISTENING):
        raise RuntimeError(f"demo-app printed {line!r} instead of '{LISTENING}http://HOST:PORT'")
    return line[len(LISTENING) :]


def start_demo_app(
    version: str,
    args: Sequence[str] = (),
    *,
    host: str = "127.0.0.1",
    timeout: float = 20.0,
    stderr: int | IO[bytes] | None = None,
    env: dict[str, str] | None = None,
) -> DemoAppProcess:
    """Start the service on a free port (in its own process group) and return once it listens."""
    proc = subprocess.Popen(
        demo_app_command(version, args, host=host),
        stdout=subprocess.PIPE,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    assert proc.stdout is not None
    try:
        url = _read_listening_line(proc.stdout, proc, timeout)
    except BaseException:
        stop_demo_app(proc, timeout=0)
        raise
    return DemoAppProcess(url=url, version=version, proc=proc)


def stop_demo_app(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGTERM (graceful), then SIGKILL after `timeout` seconds; returns the exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=5)
    if proc.stdout is not None:
        proc.stdout.close()
    return int(proc.returncode)


@contextlib.contextmanager
def run_demo_app(
    version: str,
    args: Sequence[str] = (),
    *,
    wait_ready: bool = True,
    timeout: float = 20.0,
    stderr: int | IO[bytes] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[DemoAppProcess]:
    """`with run_demo_app("v1", ["--error-rate", "0.1"]) as app: ... app.url ...`; stopped with SIGTERM after."""
    app = start_demo_app(version, args, timeout=timeout, stderr=stderr, env=env)
    try:
        if wait_ready:
            app.wait_ready(timeout)
        yield app
    finally:
        stop_demo_app(app.proc)
