"""Requests per CPU-second: greenflag's load engine vs wrk (and k6 / Locust when installed).

nginx (Debian package) is pinned to core 0, every generator to core 1; 64 keep-alive connections; each tool
runs RUNS times for DURATION seconds, interleaved, and the medians are compared. CPU-seconds come from the
generator process's rusage, so a busy machine changes the wall-clock rate more than the per-CPU figure.

    python3 bench/load_engine/run.py [--duration 20] [--runs 3] [--connections 64] [--series]
    python3 bench/load_engine/run.py --quick                      # 5 s runs, 3 of each: a regression check
    python3 bench/load_engine/run.py --quick --baseline-src /tmp/base/src   # and an older tree, interleaved

--series adds greenflag with `--out` and `--html` (the per-second time series) beside plain greenflag.
`--baseline-src DIR` adds "greenflag@base": the same command with PYTHONPATH=DIR (e.g. `git archive <commit> src
| tar -x -C /tmp/base`), run in the same interleaved rounds, so a change is compared with its parent side by side.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import median, nginx_server, run_pinned

LOCUSTFILE = """
from locust import FastHttpUser, task
class U(FastHttpUser):
    @task
    def get(self):
        self.client.get("/")
"""


def greenflag(
    url: str, conns: int, duration: int, src: str | None = None, *, series: bool = False
) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.json"
        cmd = [sys.executable, "-m", "greenflag", "load", "run", url, "--vus", str(conns)]
        cmd += ["--duration", f"{duration}s", "--quiet", "--summary-json", str(out)]
        cmd += ["--out", str(Path(tmp) / "series.jsonl"), "--html", str(Path(tmp) / "r.html")] if series else []
        measured = run_pinned(cmd, core=1, env=None if src is None else {"PYTHONPATH": src})
        reqs = json.loads(out.read_text())["metrics"]["http_reqs"]["count"]
    return reqs, measured.cpu_s


def wrk(url: str, conns: int, duration: int) -> tuple[float, float]:
    measured = run_pinned(["wrk", "-t1", f"-c{conns}", f"-d{duration}s", url], core=1)
    match = re.search(r"(\d+) requests in", measured.stdout)
    if not match:
        raise RuntimeError(measured.stdout)
    return float(match.group(1)), measured.cpu_s


def k6(url: str, conns: int, duration: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "s.js"
        script.write_text(f"import http from 'k6/http';\nexport default function () {{ http.get('{url}'); }}\n")
        summary = Path(tmp) / "k6.json"
        cmd = ["k6", "run", "--vus", str(conns), "--duration", f"{duration}s", "--quiet"]
        measured = run_pinned([*cmd, "--summary-export", str(summary), str(script)], core=1)
        reqs = json.loads(summary.read_text())["metrics"]["http_reqs"]["count"]
    return reqs, measured.cpu_s


def locust(url: str, conns: int, duration: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "locustfile.py"
        file.write_text(LOCUSTFILE)
        cmd = [sys.executable, "-m", "locust", "-f", str(file), "--headless", "-u", str(conns), "-r", str(conns)]
        cmd += ["-t", f"{duration}s", "--host", url.rstrip("/"), "--csv", str(Path(tmp) / "l")]
        measured = run_pinned(cmd, core=1)
        stats = (Path(tmp) / "l_stats.csv").read_text().splitlines()
        total = next(line for line in stats if ",Aggregated," in line)
        reqs = float(total.split(",")[2])
    return reqs, measured.cpu_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--series", action="store_true", help="also greenflag with --out and --html (the time series)")
    parser.add_argument("--quick", action="store_true", help="5 s runs, 3 of each (overrides --duration/--runs)")
    parser.add_argument("--baseline-src", help="also run greenflag from this source tree (PYTHONPATH), interleaved")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.runs = 5, 3
    tools: dict[str, Callable[[str, int, int], tuple[float, float]]] = {"greenflag": greenflag, "wrk": wrk}
    if args.series:
        tools["gf --out"] = lambda url, conns, duration: greenflag(url, conns, duration, series=True)
    if args.baseline_src:
        base = str(Path(args.baseline_src).resolve())
        tools["greenflag@base"] = lambda url, conns, duration: greenflag(url, conns, duration, base)
    if shutil.which("k6"):
        tools["k6"] = k6
    # find_spec, not import: locust monkey-patches the process with gevent when imported (it reaps our children)
    if importlib.util.find_spec("locust") is not None:
        tools["locust"] = locust
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in tools}
    with nginx_server(core=0) as url:
        for run in range(args.runs):
            for name, tool in tools.items():
                reqs, cpu = tool(url, args.connections, args.duration)
                results[name].append((reqs, cpu))
                print(f"run {run + 1} {name:10} {reqs / args.duration:10,.0f} req/s  {reqs / cpu:10,.0f} req/CPU-s")
    print(f"\nmedians of {args.runs} runs, {args.connections} connections, {args.duration}s, nginx on core 0:")
    per_cpu = {name: median([r / c for r, c in values]) for name, values in results.items()}
    rate = {name: median([r / args.duration for r, _ in values]) for name, values in results.items()}
    for name in tools:
        line = f"  {name:10} {rate[name]:10,.0f} req/s  {per_cpu[name]:10,.0f} req/CPU-s"
        line += f"  {per_cpu[name] / per_cpu['wrk']:.2f}x wrk per CPU-s"
        if name != "greenflag":
            line += f"  (greenflag = {per_cpu['greenflag'] / per_cpu[name]:.2f}x {name})"
        print(line)
    if "greenflag@base" in per_cpu:
        pairs = zip(results["greenflag"], results["greenflag@base"], strict=True)
        runs = [(r / c) / (rb / cb) for (r, c), (rb, cb) in pairs]
        print(
            f"  greenflag vs greenflag@base per CPU-s: {per_cpu['greenflag'] / per_cpu['greenflag@base']:.3f}x "
            f"(runs: {', '.join(f'{x:.3f}' for x in runs)})"
        )


if __name__ == "__main__":
    main()
