"""Shared benchmark helpers: start nginx from a generated config on an ephemeral port, run a command pinned to a
core and measure its CPU-seconds (rusage of the child), medians."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Measured", "free_port", "median", "nginx_server", "run_pinned"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Measured:
    returncode: int
    stdout: str
    cpu_s: float
    wall_s: float
    max_rss_mb: float


def run_pinned(cmd: list[str], core: int | None, timeout: float = 600, env: dict[str, str] | None = None) -> Measured:
    """Run `cmd` (pinned with taskset when `core` is given; `env` added to the environment) and return its CPU
    time from rusage."""
    full = (["taskset", "-c", str(core)] if core is not None and shutil.which("taskset") else []) + cmd
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode(errors="replace")
    return Measured(
        os.waitstatus_to_exitcode(status), text, usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


NGINX_CONF = """
worker_processes 1;
daemon off;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
worker_rlimit_nofile 30000;
events {{ worker_connections 25000; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path {dir};
  proxy_temp_path {dir};
  fastcgi_temp_path {dir};
  uwsgi_temp_path {dir};
  scgi_temp_path {dir};
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{ default_type text/plain; return 200 "hello from nginx\\n"; }}
  }}
}}
"""


@contextlib.contextmanager
def nginx_server(core: int | None = 0) -> Iterator[str]:
    """nginx (Debian package) serving a small body on 127.0.0.1, pinned to `core`. Yields the base URL."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=tmp, port=port))
        cmd = ([("taskset"), "-c", str(core)] if core is not None else []) + [nginx, "-c", str(conf), "-p", tmp]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}/"
        finally:
            proc.terminate()
            proc.wait(10)
