"""Benchmark: greenflag's embedded router vs HAProxy vs nginx in front of the same nginx static-file backend.

    python3 bench/router/run.py [--duration 10] [--connections 32] [--rate 2000]

The proxy under test is pinned to CPU 0; the backend, wrk and the latency load generator to CPU 1.
Prints, per proxy: requests per CPU-second of the proxy process (wrk at full speed; /proc/PID/stat utime+stime),
and the p50/p99 latency added versus hitting the backend directly at a fixed --rate (greenflag load run,
open model). Ratios are against HAProxy. Every server binds to 127.0.0.1 on an ephemeral port.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PROXY_CPU, LOAD_CPU = "0", "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

BACKEND_CONF = """worker_processes 1; master_process off; daemon off; error_log {dir}/backend.err; pid {dir}/b.pid;
events {{ worker_connections 10000; }}
http {{ access_log off; keepalive_requests 100000000; keepalive_timeout 300s;
  server {{ listen 127.0.0.1:{port} backlog=4096; root {dir}/www; location / {{ index index.html; }} }} }}
"""
NGINX_PROXY_CONF = """worker_processes 1; master_process off; daemon off; error_log {dir}/proxy.err; pid {dir}/p.pid;
events {{ worker_connections 10000; }}
http {{ access_log off; keepalive_requests 100000000; keepalive_timeout 300s;
  upstream b {{ server 127.0.0.1:{backend}; keepalive 64; keepalive_requests 100000000; }}
  server {{ listen 127.0.0.1:{port} backlog=4096;
    location / {{ proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; }} }} }}
"""
HAPROXY_CONF = """global
  nbthread 1
  maxconn 4000
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 300s
  timeout server 300s
frontend f
  bind 127.0.0.1:{port}
  default_backend b
backend b
  server s1 127.0.0.1:{backend}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port} after {timeout}s")


@contextlib.contextmanager
def server(cmd: list[str], port: int, cpu: str) -> Iterator[int]:
    """Start a server pinned to `cpu`; yields its PID (taskset execs, so the PID is the server's)."""
    proc = subprocess.Popen(["taskset", "-c", cpu, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def wrk(url: str, duration: int, connections: int) -> int:
    out = subprocess.run(
        ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in out or "Socket errors" in out:
        print(f"  warning: wrk saw errors against {url}:\n{out}", file=sys.stderr)
    match = re.search(r"(\d+) requests in", out)
    assert match, out
    return int(match.group(1))


def latency(url: str, rate: int, duration: int, tmp: Path) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, failed rate) at a fixed open-model rate, from greenflag load run's summary JSON."""
    summary = tmp / "summary.json"
    subprocess.run(
        ["taskset", "-c", LOAD_CPU, sys.executable, "-m", "greenflag", "load", "run", url, "--rate", str(rate),
         "--duration", f"{duration}s", "--summary-json", str(summary), "--quiet"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    metrics = json.loads(summary.read_text())["metrics"]
    d = metrics["http_req_duration"]
    return float(d["med"]), float(d["p99"]), float(metrics["http_req_failed"]["rate"])


def proxy_commands(name: str, port: int, backend: int, tmp: Path) -> list[str]:
    if name == "greenflag":
        return [sys.executable, "-m", "greenflag", "router", "serve", "--listen", f"127.0.0.1:{port}",
                "--backend", f"b=http://127.0.0.1:{backend}", "--no-admin"]  # fmt: skip
    if name == "haproxy":
        (tmp / "haproxy.cfg").write_text(HAPROXY_CONF.format(port=port, backend=backend))
        return [shutil.which("haproxy") or "/usr/sbin/haproxy", "-db", "-f", str(tmp / "haproxy.cfg")]
    (tmp / "nginx-proxy.conf").write_text(NGINX_PROXY_CONF.format(dir=tmp, port=port, backend=backend))
    return [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(tmp / "nginx-proxy.conf"), "-p", str(tmp)]


def measure(
    name: str, backend: int, tmp: Path, args: argparse.Namespace, direct: tuple[float, float]
) -> dict[str, float]:
    port = free_port()
    with server(proxy_commands(name, port, backend, tmp), port, PROXY_CPU) as pid:
        url = f"http://127.0.0.1:{port}/"
        wrk(url, 1, args.connections)  # warm up: pools, caches
        before = cpu_seconds(pid)
        requests = wrk(url, args.duration, args.connections)
        used = cpu_seconds(pid) - before
        p50, p99, failed = latency(url, args.rate, args.duration, tmp)
    r = {
        "rps": requests / args.duration,
        "per_cpu_s": requests / used if used else float("nan"),
        "added_p50_ms": p50 - direct[0],
        "added_p99_ms": p99 - direct[1],
        "failed": failed,
    }
    print(
        f"{name}: {r['rps']:.0f} req/s, {r['per_cpu_s']:.0f} req per CPU-s, added p50 {r['added_p50_ms']:+.3f} ms,"
        f" p99 {r['added_p99_ms']:+.3f} ms, failed {failed:.4f}",
        flush=True,
    )
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run and per latency run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, default=2000, help="req/s for the added-latency runs")
    parser.add_argument("--proxies", default="greenflag,haproxy,nginx")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "www").mkdir()
        (tmp / "www" / "index.html").write_text("<!doctype html><title>bench</title>" + "x" * 512 + "\n")
        bport = free_port()
        (tmp / "backend.conf").write_text(BACKEND_CONF.format(dir=tmp, port=bport))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        with server([nginx, "-c", str(tmp / "backend.conf"), "-p", str(tmp)], bport, LOAD_CPU):
            d50, d99, _ = latency(f"http://127.0.0.1:{bport}/", args.rate, args.duration, tmp)
            print(f"direct: p50 {d50:.3f} ms, p99 {d99:.3f} ms at {args.rate} req/s", flush=True)
            for name in args.proxies.split(","):
                results[name] = measure(name, bport, tmp, args, (d50, d99))
    base = results.get("haproxy", {}).get("per_cpu_s")
    print("\nproxy        req/s  req/CPU-s  vs haproxy  added p50 ms  added p99 ms")
    for name, r in results.items():
        ratio = f"{r['per_cpu_s'] / base:.1%}" if base else "n/a"
        print(
            f"{name:10s} {r['rps']:7.0f}  {r['per_cpu_s']:9.0f}  {ratio:>10s}  {r['added_p50_ms']:+12.3f}"
            f"  {r['added_p99_ms']:+12.3f}"
        )


if __name__ == "__main__":
    main()
