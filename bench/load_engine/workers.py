"""What coordination costs: requests per generator CPU-second with `--workers 2` against one worker, side by side.

nginx (Debian package, one worker process, `return 200`) is pinned to core 0; the generator — the coordinator and
all its worker processes, which inherit its CPU affinity — to core 1, so both cases have the same single core and
the per-CPU figure compares their work, not their parallelism. The same 64 keep-alive connections in total (32 per
worker with two). CPU-seconds come from the coordinator's rusage at exit, which includes its reaped workers; start-up
(interpreters, imports, the scenario loaded in each worker) is included, so longer runs amortise it. Runs are
interleaved (1, 2, 1, 2, …) and the medians compared; the per-run pairs are printed too.

    python3 bench/load_engine/workers.py [--duration 30] [--runs 5] [--connections 64] [--workers 2]
    python3 bench/load_engine/workers.py --rate 20000 --duration 30   # open model at a fixed rate instead
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import median, nginx_server, run_pinned


def greenflag(url: str, args: argparse.Namespace, workers: int) -> tuple[float, float, float]:
    """(requests, generator CPU-seconds, wall seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.json"
        cmd = [sys.executable, "-m", "greenflag", "load", "run", url, "--duration", f"{args.duration}s", "--quiet"]
        cmd += ["--vus", str(args.connections), "--workers", str(workers), "--summary-json", str(out)]
        if args.rate:
            cmd += ["--rate", str(args.rate), "--max-vus", str(args.connections)]
        measured = run_pinned(cmd, core=1)
        if not out.exists():
            raise SystemExit(f"greenflag failed (exit {measured.returncode}):\n{measured.stdout}")
        summary = json.loads(out.read_text())
        counted = summary["metrics"]["http_reqs"]["count"]
        if workers > 1:
            assert sum(w["http_reqs"] for w in summary["workers"]["each"]) == counted
    return counted, measured.cpu_s, measured.wall_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=int, default=0, help="open model: requests per second (0: closed, --vus)")
    args = parser.parse_args()
    results: dict[int, list[tuple[float, float, float]]] = {1: [], args.workers: []}
    with nginx_server(core=0) as url:
        for run in range(args.runs):
            for workers in results:
                reqs, cpu, wall = greenflag(url, args, workers)
                results[workers].append((reqs, cpu, wall))
                print(f"run {run + 1} workers={workers}: {reqs:,.0f} requests, {cpu:.2f} CPU-s, "
                      f"{reqs / cpu:,.0f} req/CPU-s, wall {wall:.1f}s", flush=True)  # fmt: skip
    one, many = results[1], results[args.workers]
    per_cpu = {w: median([r / c for r, c, _ in values]) for w, values in results.items()}
    pairs = [(rm / cm) / (r1 / c1) for (r1, c1, _), (rm, cm, _) in zip(one, many, strict=True)]
    print(f"\nmedians of {args.runs} runs, {args.duration}s, {args.connections} connections, nginx on core 0, "
          f"the generator on core 1:")  # fmt: skip
    for workers, value in per_cpu.items():
        print(f"  workers={workers}: {value:,.0f} requests per generator CPU-second")
    ratio = per_cpu[args.workers] / per_cpu[1]
    print(f"  {args.workers} workers / 1 worker per CPU-second: {ratio:.3f} (target ≥ 0.9; paired runs: "
          f"{', '.join(f'{p:.3f}' for p in pairs)})")  # fmt: skip


if __name__ == "__main__":
    main()
