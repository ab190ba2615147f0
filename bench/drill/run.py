"""bench/drill: RTO, RPO and writes lost when a ~1 GB PostgreSQL cluster under write load is killed and restored.

Each run is one `greenflag drill postgres`: a throwaway cluster with `pgbench -i -s SCALE` data (scale 70 ≈
1 GB), the heartbeat writer (100 committed inserts/s), protection by pg_basebackup + synchronous pg_receivewal
(or another `--method`), SIGKILL + loss of the data directory, restore into a new directory, first successful
health query. Prints every run, the per-step breakdown of the RTO, and medians.

    python3 bench/drill/run.py [--runs 3] [--scale 70] [--duration 10s] [--method stream|archive|pgbackrest]
                               [--async] [--json out.json]

The goals (RTO ≤ 60 s, RPO ≤ 1 s, 0 acknowledged writes lost) are for synchronous streaming; the other methods
(archive_timeout 1 s here) and --async are printed for comparison and are expected to lose the newest writes.

Not pinned with taskset: the RTO is PostgreSQL's own multi-process work (copy, WAL replay, promotion), which a
single core would only slow down; the machine's 2 cores are shared with the heartbeat writer and greenflag.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from datetime import datetime
from typing import Any

from greenflag.dr.config import load_drill_spec
from greenflag.dr.model import DrillResult
from greenflag.dr.postgres.drill import run_postgres_drill
from greenflag.units import parse_duration

GOALS = {"rto_s": 60.0, "rpo_s": 1.0, "writes_lost": 0}


def _at(result: DrillResult, name: str) -> float | None:
    return next((e.t for e in result.timeline if e.event == name), None)


def breakdown(result: DrillResult) -> dict[str, float | None]:
    """Seconds spent in each part of the recovery, from the timeline."""
    marks = ["fault_injected", "wal_checked", "restore_files", "restored_server_started", "healthy"]
    times = [_at(result, m) for m in marks]
    out: dict[str, float | None] = {}
    labels = [
        "stop WAL receiver, check WAL",
        "restore base backup files",
        "start server",
        "WAL replay + promotion + first query",
    ]
    for label, a, b in zip(labels, times, times[1:], strict=False):
        out[label] = round(b - a, 3) if a is not None and b is not None else None
    finished = next((e for e in result.timeline if e.event == "backup_finished"), None)
    out["backup_bytes"] = float(finished.detail.get("bytes", 0)) if finished else None
    started, done = _at(result, "backup_started"), _at(result, "backup_finished")
    out["base backup (under load)"] = round(done - started, 3) if started is not None and done is not None else None
    return out


async def one(scale: int, duration: float, method: str, synchronous: bool) -> DrillResult:
    spec = load_drill_spec(None, "postgres", {
        "postgres.pgbench_scale": scale, "heartbeat.duration": duration, "protection.method": method,
        "protection.archive_timeout": 1.0, "protection.synchronous": synchronous,
    })  # fmt: skip
    return await run_postgres_drill(spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=int, default=70)
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--method", default="stream", choices=["stream", "archive", "pgbackrest"])
    parser.add_argument("--async", dest="asynchronous", action="store_true", help="stream without --synchronous")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    duration = parse_duration(args.duration)
    rows: list[dict[str, Any]] = []
    for n in range(1, args.runs + 1):
        began = datetime.now()
        result = asyncio.run(one(args.scale, duration, args.method, not args.asynchronous))
        row = {"run": n, "ok": result.ok, "rto_s": result.rto_s, "rpo_s": result.rpo_s,
               "writes_acknowledged": result.writes_acknowledged, "writes_lost": result.writes_lost,
               "findings": [f.to_json() for f in result.findings], "breakdown": breakdown(result),
               "wall_s": round((datetime.now() - began).total_seconds(), 1)}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    measured = [r for r in rows if r["rto_s"] is not None and r["rpo_s"] is not None]
    medians = {key: statistics.median(r[key] for r in measured) if measured else None
               for key in ("rto_s", "rpo_s", "writes_lost", "writes_acknowledged")}  # fmt: skip
    steps = {label: statistics.median(r["breakdown"][label] for r in measured if r["breakdown"][label] is not None)
             for label in (measured[0]["breakdown"] if measured else {})}  # fmt: skip
    summary = {"method": args.method, "synchronous": args.method == "stream" and not args.asynchronous,
               "scale": args.scale, "runs": args.runs, "medians": medians,
               "max_writes_lost": max((r["writes_lost"] for r in rows), default=None),
               "median_breakdown": steps, "goals": GOALS,
               "goals_met": bool(measured) and medians["rto_s"] <= GOALS["rto_s"]
               and medians["rpo_s"] <= GOALS["rpo_s"] and all(r["writes_lost"] == 0 for r in rows)}  # fmt: skip
    print(json.dumps(summary, indent=2))
    if args.json_path:
        with open(args.json_path, "w") as out:
            json.dump({"runs": rows, "summary": summary}, out, indent=2)
    return 0 if summary["goals_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
