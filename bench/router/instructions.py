"""Benchmark: user-space instructions per proxied request (callgrind), greenflag's router vs HAProxy vs nginx.

    python3 bench/router/instructions.py [--seconds 10] [--proxies greenflag,haproxy,nginx]

Each proxy runs under `valgrind --tool=callgrind` with instrumentation off until it has served a warm-up, then
on for a wrk run (4 connections, keep-alive) of --seconds, then off again; the count divided by the requests wrk
made is the proxy's user-space instructions per request in steady state (kernel work, the same for every proxy,
is not counted). Unlike CPU time this does not move with what else the machine is doing, so it is the figure to
compare across commits. The backend is nginx serving a 560-byte file; everything binds to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import free_port
from run import proxy_commands, static_backend, wait_port, wrk


def instructions_per_request(name: str, backend: int, tmp: Path, seconds: int) -> tuple[int, float]:
    port = free_port()
    out = tmp / f"callgrind.{name}"
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    proc = subprocess.Popen(
        [*cmd, *proxy_commands(name, port, backend, tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_port(port, proc, timeout=300)
        url = f"http://127.0.0.1:{port}/"
        wrk(url, 3, 4)  # warm up: pools, caches, lazy imports
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], capture_output=True, check=True)
        requests = wrk(url, seconds, 4)
        subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], capture_output=True, check=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    totals = re.search(r"^totals:\s+(\d+)", out.read_text(errors="replace"), re.M)
    if totals is None:
        raise RuntimeError(f"no totals in {out}")
    return requests, int(totals.group(1)) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="length of the measured wrk run")
    parser.add_argument("--proxies", default="greenflag,haproxy,nginx")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind (with callgrind_control) is needed: apt-get install valgrind")
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        backend = stack.enter_context(static_backend(tmp))
        for name in args.proxies.split(","):
            requests, per_request = instructions_per_request(name, backend, tmp, args.seconds)
            results[name] = per_request
            print(f"{name}: {per_request:,.0f} instructions per request ({requests} requests under callgrind)")
    base = results.get("haproxy")
    if base:
        print("\n" + "  ".join(f"{name} {value / base:.1f}× HAProxy" for name, value in results.items()))


if __name__ == "__main__":
    main()
