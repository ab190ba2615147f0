"""The SQLite drill's heartbeat writer, a process of its own so the fault can SIGKILL it like a crashed service.

    python -m greenflag.dr.sqlite.writer DB RATE

Writes `(seq, committed_at)` rows into `greenflag_heartbeat`, one autocommit INSERT each, paced at RATE per
second. On stdout, for the drill's ledger: `s SEQ` before each commit is sent, `a SEQ` once it returned.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
import time

from greenflag.dr.ledger import pace

__all__ = ["SCHEMA", "main"]

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS greenflag_heartbeat (seq INTEGER PRIMARY KEY, committed_at TEXT NOT NULL, "
    "written_by TEXT NOT NULL DEFAULT 'greenflag')"
)


def main(argv: list[str]) -> int:
    path, rate = argv[0], float(argv[1])
    conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")  # the reference service's setting
    conn.execute(SCHEMA)
    out = sys.stdout
    print("ready", file=out, flush=True)
    start, seq = time.monotonic(), 0
    while True:
        wait = pace(start, seq, rate, time.monotonic())
        if wait > 0:
            time.sleep(wait)
        seq += 1
        print(f"s {seq}", file=out, flush=True)
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        conn.execute("INSERT INTO greenflag_heartbeat (seq, committed_at) VALUES (?, ?)", (seq, now))
        print(f"a {seq} {time.time():.6f}", file=out, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
