"""10,000 concurrent VUs at about 1 request/s each: peak RSS of the generator, and whether it kept up.

Open model: 10,000 pre-allocated VUs, each with its own keep-alive connection, and 10,000 iterations per second
among them (≈ 1 request/s per VU), reached over `--ramp` seconds (0: all at once — then 10,000 connects in the
first second overflow the server's accept backlog and SYN retransmits show up as ~1 s latencies and dropped
iterations, which is the server's story, faithfully reported). nginx on core 0, generator on core 1.

    python3 bench/load_engine/vus10k.py [--duration 30] [--ramp 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import nginx_server, run_pinned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--vus", type=int, default=10_000)
    parser.add_argument("--ramp", type=float, default=5.0)
    args = parser.parse_args()
    with nginx_server(core=0) as url, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.json"
        cmd = [
            sys.executable,
            "-m",
            "greenflag",
            "load",
            "run",
            url,
            "--vus",
            str(args.vus),
            "--max-vus",
            str(args.vus),
        ]
        if args.ramp > 0:
            steady = max(1.0, args.duration - args.ramp)
            cmd += ["--rate", "1", "--stage", f"{args.ramp}s:{args.vus}", "--stage", f"{steady}s:{args.vus}"]
        else:
            cmd += ["--rate", str(args.vus), "--duration", f"{args.duration}s"]
        cmd += ["--quiet", "--summary-json", str(out)]
        measured = run_pinned(cmd, core=1)
        summary = json.loads(out.read_text())
    m = summary["metrics"]
    reqs = m["http_reqs"]
    print(f"VUs allocated {m['vus_max']['value']:,}  requests {reqs['count']:,} ({reqs['rate']:,.0f}/s)")
    print(f"dropped iterations {m['dropped_iterations']['count']:,}  failed {m['http_req_failed']['rate']:.4%}")
    print(f"http_req_latency p95 {m['http_req_latency']['p95']:.2f} ms  p99 {m['http_req_latency']['p99']:.2f} ms")
    print(f"peak RSS {measured.max_rss_mb:.0f} MB  CPU {measured.cpu_s / measured.wall_s:.0%} of a core")
    print(f"generator_saturated {summary['generator_saturated']}")


if __name__ == "__main__":
    main()
