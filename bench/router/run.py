"""Benchmark: greenflag's embedded router vs HAProxy vs nginx in front of the same nginx static-file backend.

    python3 bench/router/run.py [--rounds 5] [--duration 10] [--connections 32] [--rate 2000]

Each round starts every proxy (pinned to CPU 0; the backend, wrk and the load generator share CPU 1), then:

* added latency at a fixed --rate (greenflag load run, open model): the run straight at the backend, then one
  through each proxy, back to back (the proxies' order rotates each round); added = proxy minus direct;
* throughput: wrk at full speed through each proxy, requests per CPU-second of the proxy process
  (/proc/PID/stat utime+stime).

Figures printed at the end are medians over the rounds with their spread. Before the latency runs of a round the
script waits (up to --max-wait) for the machine to be quiet: on a VM, sleeping processes sometimes wake
milliseconds late when the host is busy, and a proxied request has more wake-ups on its path than a direct one, so
p99 then moves by milliseconds for every proxy alike. The wake-up noise is measured before and after the latency
runs and printed with each round; medians are given over all rounds and over the quiet ones.
Ratios are against HAProxy. Every server binds to 127.0.0.1 on an ephemeral port.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import free_port, median

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


@contextlib.contextmanager
def static_backend(tmp: Path) -> Iterator[int]:
    """nginx serving a 560-byte page from `tmp`/www on the load core; yields its port."""
    (tmp / "www").mkdir()
    (tmp / "www" / "index.html").write_text("<!doctype html><title>bench</title>" + "x" * 512 + "\n")
    port = free_port()
    (tmp / "backend.conf").write_text(BACKEND_CONF.format(dir=tmp, port=port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with server([nginx, "-c", str(tmp / "backend.conf"), "-p", str(tmp)], port, LOAD_CPU):
        yield port


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


def wake_noise(cpus: tuple[str, ...], seconds: float = 1.0, period: float = 0.001) -> float:
    """Percentage of 1 ms sleeps that woke more than 1 ms late, worst over `cpus` (this process pinned to each).

    On a VM a sleeping process waits for its vCPU to be scheduled again by the host; when the host is busy, some
    wake-ups come milliseconds late. A proxied request has more wake-ups on its path than a direct one, so once
    late wake-ups pass a fraction of a percent, every proxy's p99 moves by milliseconds whatever the proxy does.
    """
    original = os.sched_getaffinity(0)
    worst = 0.0
    try:
        for cpu in cpus:
            os.sched_setaffinity(0, {int(cpu)})
            late = total = 0
            t = time.perf_counter()
            end = t + seconds
            while t < end:
                time.sleep(period)
                now = time.perf_counter()
                late += now - t - period > 0.001
                total += 1
                t = now
            worst = max(worst, 100.0 * late / max(total, 1))
    finally:
        os.sched_setaffinity(0, original)
    return worst


def wait_for_quiet(args: argparse.Namespace) -> float:
    """Wake-up noise (see wake_noise) once it is at most --quiet-below, or after --max-wait seconds anyway."""
    deadline = time.monotonic() + args.max_wait
    noise = wake_noise((PROXY_CPU, LOAD_CPU))
    while noise > args.quiet_below and time.monotonic() < deadline:
        print(f"  machine noisy ({noise:.2f} % of wake-ups > 1 ms late); waiting", flush=True)
        time.sleep(10)
        noise = wake_noise((PROXY_CPU, LOAD_CPU))
    return noise


def spread(values: list[float], fmt: str) -> str:
    if not values:
        return "n/a"
    return f"{format(median(values), fmt)} [{format(min(values), fmt)}…{format(max(values), fmt)}]"


def one_round(
    names: list[str], turn: int, backend: int, tmp: Path, args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    """All proxies up at once (each on the proxy core; idle ones cost nothing), warmed up; then the latency runs
    back to back (direct first, then the proxies in an order that rotates each round), with the wake-up noise
    before and after them; then the throughput runs."""
    with contextlib.ExitStack() as proxies:
        ports: dict[str, int] = {}
        pids: dict[str, int] = {}
        for name in names:
            port = ports[name] = free_port()
            pids[name] = proxies.enter_context(server(proxy_commands(name, port, backend, tmp), port, PROXY_CPU))
            wrk(f"http://127.0.0.1:{port}/", 1, args.connections)  # warm up: pools, caches
        noise_before = wait_for_quiet(args)
        d50, d99, _ = latency(f"http://127.0.0.1:{backend}/", args.rate, args.duration, tmp)
        out: dict[str, dict[str, float]] = {"direct": {"p50": d50, "p99": d99}}
        for name in names[turn % len(names) :] + names[: turn % len(names)]:  # each proxy goes first in turn
            p50, p99, failed = latency(f"http://127.0.0.1:{ports[name]}/", args.rate, args.duration, tmp)
            out[name] = {"added_p50": p50 - d50, "added_p99": p99 - d99, "failed": failed}
        noise = max(noise_before, wake_noise((PROXY_CPU, LOAD_CPU)))
        out["direct"]["noise"] = noise
        for name in names:
            before = cpu_seconds(pids[name])
            requests = wrk(f"http://127.0.0.1:{ports[name]}/", args.duration, args.connections)
            used = cpu_seconds(pids[name]) - before
            out[name]["rps"] = requests / args.duration
            out[name]["per_cpu_s"] = requests / used if used else float("nan")
    print(
        f"  direct p50/p99 {d50:.3f}/{d99:.3f} ms; wake-up noise {noise:.2f} %"
        + "".join(
            f"\n  {n}: added p50/p99 {r['added_p50']:+.3f}/{r['added_p99']:+.3f} ms, failed {r['failed']:.4f};"
            f" {r['rps']:.0f} req/s, {r['per_cpu_s']:.0f} req per CPU-s"
            for n, r in out.items()
            if n != "direct"
        ),
        flush=True,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; figures are medians over them")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run and per latency run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, default=2000, help="req/s for the added-latency runs")
    parser.add_argument("--proxies", default="greenflag,haproxy,nginx")
    parser.add_argument(
        "--quiet-below", type=float, default=0.1, help="wait for wake-up noise at most this (percent) before a round"
    )
    parser.add_argument("--max-wait", type=float, default=120, help="seconds to wait for quiet before each round")
    parser.add_argument("--json", type=Path, help="write every round's figures here")
    args = parser.parse_args()
    names = args.proxies.split(",")
    rounds: list[dict[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        backend = stack.enter_context(static_backend(tmp))
        for n in range(args.rounds):
            print(f"round {n + 1}/{args.rounds}", flush=True)
            rounds.append(one_round(names, n, backend, tmp, args))
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rounds": rounds}))
    quiet = [r for r in rounds if r["direct"]["noise"] <= args.quiet_below]
    print(
        f"\nmedians [min…max] over {len(rounds)} rounds, and over the {len(quiet)} quiet ones (wake-up noise"
        f" <= {args.quiet_below} % before and after the latency runs); added latency in ms at {args.rate} req/s"
    )
    for name in names:
        ratio = [r[name]["per_cpu_s"] / r["haproxy"]["per_cpu_s"] for r in rounds] if "haproxy" in names else []
        print(
            f"{name}: req/CPU-s {spread([r[name]['per_cpu_s'] for r in rounds], '.0f')}, vs haproxy"
            f" {spread(ratio, '.1%')}; failed (worst) {max(r[name]['failed'] for r in rounds):.4f}"
        )
        for label, subset in (("all rounds", rounds), ("quiet rounds", quiet)):
            print(
                f"    {label:12s} added p50 {spread([r[name]['added_p50'] for r in subset], '+.3f')}"
                f"  p99 {spread([r[name]['added_p99'] for r in subset], '+.3f')}"
            )


if __name__ == "__main__":
    main()
