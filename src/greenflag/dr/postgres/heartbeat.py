"""The PostgreSQL heartbeat writer: numbered rows, each carrying its commit time, one autocommit INSERT each.

Every row is `(seq, committed_at)`; `committed_at` is greenflag's wall clock when the commit was sent, so it never
runs ahead of the real commit and RPO measured from it is never flattering. The writer keeps a ledger: a write
is acknowledged when PostgreSQL answered the commit; the one in flight when the server dies is "in doubt".
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

from greenflag.dr.ledger import Ledger, pace

__all__ = ["SCHEMA", "PgHeartbeat"]

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS greenflag_heartbeat ("
    " seq bigint PRIMARY KEY, committed_at timestamptz NOT NULL, written_by text NOT NULL DEFAULT 'greenflag')"
)
INSERT = "INSERT INTO greenflag_heartbeat (seq, committed_at) VALUES (%s, %s)"


class PgHeartbeat:
    def __init__(self, dsn: str, rate: float) -> None:
        self.dsn = dsn
        self.rate = rate
        self.ledger = Ledger()
        self._stop = asyncio.Event()
        self.first_ack = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Write until `stop()` or until the server stops answering (recorded in `ledger.error`)."""
        import psycopg

        ledger = self.ledger
        try:
            conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True, connect_timeout=5)
        except (psycopg.Error, OSError) as exc:
            ledger.error = f"connect: {exc}"
            return
        seq = 0
        try:
            ledger.started = time.monotonic()
            while not self._stop.is_set():
                wait = pace(ledger.started, seq, self.rate, time.monotonic())
                if wait > 0:
                    try:
                        await asyncio.wait_for(self._stop.wait(), wait)
                        break
                    except TimeoutError:
                        pass
                seq += 1
                try:
                    await conn.execute(INSERT, (seq, dt.datetime.now(dt.UTC)))
                except (psycopg.Error, OSError) as exc:
                    ledger.in_doubt.append(seq)
                    ledger.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    break
                ledger.acknowledged.append(seq)
                ledger.ack_times.append(time.time())
                self.first_ack.set()
        finally:
            ledger.stopped = time.monotonic()
            self.first_ack.set()
            with contextlib.suppress(psycopg.Error, OSError, TimeoutError):
                await asyncio.wait_for(conn.close(), 5)
