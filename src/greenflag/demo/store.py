"""The reference service's SQLite database (WAL mode): contact submissions and the items of the JSON API.

Writes go through one connection in a one-thread executor, so the event loop never waits for a commit
or a checkpoint's fsync. Reads use a second connection directly on the event loop: in WAL mode a reader
neither blocks nor is blocked by the writer, and a read of a few rows (~20-50 µs) costs a fraction of a
hop to a thread (~100 µs of CPU here). Several processes may share one file (`--db`): WAL lets their
readers and writers proceed together, and `busy_timeout` absorbs the short write locks.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from greenflag.demo.forms import ContactSubmission

__all__ = ["Store"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  message TEXT NOT NULL,
  version TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  price_cents INTEGER NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
"""

_ITEM_COLUMNS = "id, name, price_cents, created_at"


def _item(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": row[0], "name": row[1], "price_cents": row[2], "created_at": row[3]}


class Store:
    """Async facade over one SQLite connection living in a one-thread executor."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-db")
        self._conn: sqlite3.Connection | None = None  # writes, on the executor's thread
        self._reader: sqlite3.Connection | None = None  # reads, on the event loop's thread

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            if self._conn is None:
                raise RuntimeError("the database is not open")
            return fn(self._conn)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _read(self) -> sqlite3.Connection:
        if self._reader is None:
            raise RuntimeError("the database is not open")
        return self._reader

    async def open(self, seed_items: int) -> None:
        """Create the schema, switch to WAL and seed the items (once per database file)."""

        def connect() -> None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
            conn.execute("PRAGMA busy_timeout = 10000")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                conn.close()
                raise RuntimeError(f"{self.path}: SQLite refused WAL mode (journal_mode is {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0 and seed_items > 0:
                    conn.executemany(
                        "INSERT INTO items (name, price_cents) VALUES (?, ?)",
                        ((f"Item {i}", 100 + (i * 37) % 9900) for i in range(1, seed_items + 1)),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
            reader.execute("PRAGMA busy_timeout = 10000")
            reader.execute("PRAGMA query_only = ON")
            self._conn, self._reader = conn, reader

        await asyncio.get_running_loop().run_in_executor(self._executor, connect)

    async def close(self) -> None:
        def close() -> None:
            for conn in (self._reader, self._conn):
                if conn is not None:
                    conn.close()
            self._conn = self._reader = None

        await asyncio.get_running_loop().run_in_executor(self._executor, close)
        self._executor.shutdown(wait=True)

    async def add_contact(self, sub: ContactSubmission, version: str) -> int:
        def insert(c: sqlite3.Connection) -> int:
            cur = c.execute(
                "INSERT INTO contacts (name, email, message, version) VALUES (?, ?, ?, ?)",
                (sub.name, sub.email, sub.message, version),
            )
            return int(cur.lastrowid or 0)

        return await self._run(insert)

    async def contacts(self, latest: int = 10) -> dict[str, Any]:
        c = self._read()
        count = c.execute("SELECT COUNT(*) FROM contacts").fetchone()[0]
        rows = c.execute(
            "SELECT id, name, email, message, version, created_at FROM contacts ORDER BY id DESC LIMIT ?", (latest,)
        ).fetchall()
        keys = ("id", "name", "email", "message", "version", "created_at")
        return {"count": count, "latest": [dict(zip(keys, row, strict=True)) for row in rows]}

    async def items_page(self, page: int, per_page: int) -> tuple[int, list[dict[str, Any]]]:
        c = self._read()
        total = int(c.execute("SELECT COUNT(*) FROM items").fetchone()[0])
        rows = c.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items ORDER BY id LIMIT ? OFFSET ?", (per_page, (page - 1) * per_page)
        ).fetchall()
        return total, [_item(row) for row in rows]

    async def item(self, item_id: int) -> dict[str, Any] | None:
        row = self._read().execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE id = ?", (item_id,)).fetchone()
        return None if row is None else _item(row)

    async def add_item(self, name: str, price_cents: int) -> dict[str, Any]:
        def insert(c: sqlite3.Connection) -> dict[str, Any]:
            cur = c.execute("INSERT INTO items (name, price_cents) VALUES (?, ?)", (name, price_cents))
            row = c.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE id = ?", (cur.lastrowid,)).fetchone()
            return _item(row)

        return await self._run(insert)
