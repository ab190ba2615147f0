"""10,000 concurrent VUs at about 1 request/s each: peak RSS of the generator, and whether it kept up.

Open model: `--rate 10000 --vus 10000` pre-allocates 10,000 VUs, each with its own keep-alive connection, and
starts 10,000 iterations per second among them (≈ 1 request/s per VU). nginx on core 0, generator on core 1.

    python3 bench/load_engine/vus10k.py [--duration 30]
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
    args = parser.parse_args()
    with nginx_server(core=0) as url, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.json"
        cmd = [sys.executable, "-m", "greenflag", "load", "run", url, "--rate", str(args.vus), "--vus", str(args.vus)]
        cmd += ["--max-vus", str(args.vus), "--duration", f"{args.duration}s", "--quiet", "--summary-json", str(out)]
        measured = run_pinned(cmd, core=1)
        summary = json.loads(out.read_text())
    m = summary["metrics"]
    print(f"VUs {m['vus_max']['value']:,}  requests {m['http_reqs']['count']:,} ({m['http_reqs']['rate']:,.0f}/s)")
    print(f"dropped iterations {m['dropped_iterations']['count']:,}  failed {m['http_req_failed']['rate']:.4%}")
    print(f"http_req_latency p95 {m['http_req_latency']['p95']:.2f} ms  p99 {m['http_req_latency']['p99']:.2f} ms")
    print(f"peak RSS {measured.max_rss_mb:.0f} MB  CPU {measured.cpu_s / measured.wall_s:.0%} of a core")
    print(f"generator_saturated {summary['generator_saturated']}")


if __name__ == "__main__":
    main()
