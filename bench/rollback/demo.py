"""bench/rollback/demo.py: the demo's canary rollback, N times — `greenflag demo --quick`, each run in a fresh output
folder, its `rollback_seconds` (the first failing response v3 served → v3's weight 0, polled every 50 ms by the
story) collected; prints each run, the median and the max, and how many were under the 5 s target.

    taskset -c 1 python3 bench/rollback/demo.py --runs 10 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TARGET_S = 5.0


def one(out: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "greenflag", "demo", "--quick", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    summary = out / "summary.json"
    if not summary.exists():
        return {"ok": False, "error": done.stderr[-500:]}
    data: dict[str, Any] = json.loads(summary.read_text())
    keys = ("ok", "rolled_back", "rollback_seconds", "rollback_trigger", "duration_s", "error")
    return {k: data.get(k) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="gf-bench-demo-") as tmp:
        for i in range(args.runs):
            result = one(Path(tmp) / f"run{i}")
            runs.append(result)
            print(f"  run {i}: rollback {result.get('rollback_seconds')}s, story holds: {result.get('ok')}", flush=True)
    seconds = [r["rollback_seconds"] for r in runs if r.get("rolled_back") and r.get("rollback_seconds") is not None]
    under = sum(1 for s in seconds if s < TARGET_S)
    if seconds:
        print(f"demo canary rollback: median {statistics.median(seconds):.2f}s, max {max(seconds):.2f}s; "
              f"under {TARGET_S:g}s in {under} of {args.runs}")  # fmt: skip
    else:
        print(f"no run rolled back: {runs}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "seconds": seconds, "under_target": under}, indent=2))


if __name__ == "__main__":
    main()
