"""bench/drill/sqlite: RPO, RTO and writes lost of `greenflag drill sqlite` with online backups (`backup`) and with
a base backup + WAL shipping (`wal`), side by side under the same heartbeat load.

Each round runs one drill per configuration, one after the other (so they share the machine's conditions): the
heartbeat writer (a process of its own, `--rate` committed inserts/s) on a working copy of `--db-mb` MB, the
protection, SIGKILL of the writer and loss of the database with its -wal/-shm, restore, first health query. Prints
every run, then per configuration the medians and what the protection cost (seconds per backup or shipment, bytes).
Where the fault lands in the protection's cycle decides the RPO, so run N's load lasts `--duration` + (N - 1) /
runs × the longest interval: the runs sample the cycle evenly instead of hitting the same phase every time.

    python3 bench/drill/sqlite.py [--runs 5] [--duration 15s] [--rate 100] [--db-mb 0]
                                  [--config backup@1s --config wal@100ms ...] [--json out.json]

A configuration is METHOD@INTERVAL. The default set compares each method at its default interval and both at
100 ms. Not pinned with taskset: the writer and the drill are separate processes sharing the machine's 2 cores,
like a service and its backup agent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from greenflag.dr.config import load_drill_spec
from greenflag.dr.model import DrillResult
from greenflag.dr.sqlite.drill import run_sqlite_drill
from greenflag.units import parse_duration

DEFAULT_CONFIGS = ["backup@1s", "wal@100ms", "backup@100ms"]


def make_db(path: Path, megabytes: int) -> None:
    """A database of about `megabytes` MB (rows of 4 kB), for the drill to copy and protect."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE payload (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
    rows = megabytes * 1024 // 4
    conn.executemany("INSERT INTO payload (data) VALUES (?)", ((bytes(4000),) for _ in range(rows)))
    conn.commit()
    conn.close()


def _detail(result: DrillResult, name: str) -> dict[str, Any]:
    return next((dict(e.detail) for e in result.timeline if e.event == name), {})


async def one(method: str, interval: float, duration: float, rate: float, db: Path | None) -> DrillResult:
    overrides: dict[str, Any] = {"protection.method": method, "protection.interval": interval,
                                 "heartbeat.duration": duration, "heartbeat.rate": rate}  # fmt: skip
    if db is not None:
        overrides["sqlite.db"] = str(db)
    return await run_sqlite_drill(load_drill_spec(None, "sqlite", overrides))


def row_of(config: str, n: int, result: DrillResult) -> dict[str, Any]:
    stopped = _detail(result, "protection_stopped")
    wal = stopped.get("wal", {})
    return {
        "config": config, "run": n, "ok": result.ok, "rto_s": result.rto_s, "rpo_s": result.rpo_s,
        "writes_acknowledged": result.writes_acknowledged, "writes_lost": result.writes_lost,
        "protections": stopped.get("backups", stopped.get("shipments")),
        "mean_protection_s": stopped.get("mean_backup_s", stopped.get("mean_shipment_s")),
        "shipped_bytes": wal.get("bytes"), "generations": wal.get("generations"), "logs": wal.get("logs"),
        "findings": [f.id for f in result.findings],
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", default="15s")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--db-mb", type=int, default=0, help="0: the drill's 1,000-row fixture (~40 kB)")
    parser.add_argument("--config", action="append", help="METHOD@INTERVAL (repeatable)")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    configs = [(c, c.split("@")[0], parse_duration(c.split("@")[1])) for c in args.config or DEFAULT_CONFIGS]
    duration = parse_duration(args.duration)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = None
        if args.db_mb:
            db = Path(tmp) / "bench.db"
            make_db(db, args.db_mb)
        longest = max(interval for _, _, interval in configs)
        for n in range(1, args.runs + 1):
            load = duration + (n - 1) / args.runs * longest
            for name, method, interval in configs:
                result = asyncio.run(one(method, interval, load, args.rate, db))
                rows.append(row_of(name, n, result))
                print(json.dumps(rows[-1]), flush=True)
    summary: dict[str, Any] = {"runs": args.runs, "duration_s": duration, "rate": args.rate, "db_mb": args.db_mb}
    for name, _, _ in configs:
        mine = [r for r in rows if r["config"] == name and r["rpo_s"] is not None]
        summary[name] = {
            key: statistics.median(r[key] for r in mine if r[key] is not None) if mine else None
            for key in ("rpo_s", "rto_s", "writes_lost", "writes_acknowledged", "mean_protection_s")
        }
        summary[name]["rpo_runs"] = [r["rpo_s"] for r in mine]
        summary[name]["ok_runs"] = sum(1 for r in rows if r["config"] == name and r["ok"])
    print(json.dumps(summary, indent=2))
    if args.json_path:
        with open(args.json_path, "w") as out:
            json.dump({"runs": rows, "summary": summary}, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
