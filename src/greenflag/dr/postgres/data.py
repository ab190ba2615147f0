"""What the drill writes before the fault and checks after the restore: heartbeat table, fixture, integrity."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenflag.dr.ledger import Ledger
from greenflag.dr.postgres.cluster import Cluster
from greenflag.dr.postgres.heartbeat import SCHEMA
from greenflag.dr.score import compare_ledger
from greenflag.dr.timeline import iso

__all__ = ["Fixture", "conf_line", "prepare", "verify_restored", "write_settings"]

FIXTURE_ROWS = 1000
_FIXTURE_DIGEST = "SELECT count(*), md5(string_agg(payload, ',' ORDER BY id)) FROM greenflag_fixture"


@dataclass(frozen=True)
class Fixture:
    rows: int
    digest: str
    pgbench_scale: int = 0


async def prepare(cluster: Cluster, pgbench_scale: int) -> Fixture:
    """A fresh heartbeat table and a fixture table whose digest the restored copy must reproduce."""
    await cluster.execute("DROP TABLE IF EXISTS greenflag_heartbeat")
    await cluster.execute(SCHEMA)
    await cluster.execute("DROP TABLE IF EXISTS greenflag_fixture")
    await cluster.execute("CREATE TABLE greenflag_fixture (id int PRIMARY KEY, payload text NOT NULL)")
    await cluster.execute(
        "INSERT INTO greenflag_fixture SELECT i, md5(i::text) FROM generate_series(1, %s) AS i", (FIXTURE_ROWS,)
    )
    rows = await cluster.execute(_FIXTURE_DIGEST)
    return Fixture(int(rows[0][0]), str(rows[0][1]), pgbench_scale)


async def _fixture_check(restored: Cluster, fixture: Fixture) -> str:
    rows = await restored.execute(_FIXTURE_DIGEST)
    if (int(rows[0][0]), str(rows[0][1])) != (fixture.rows, fixture.digest):
        return (
            f"greenflag_fixture has {rows[0][0]} rows / digest {rows[0][1]}, expected {fixture.rows} / {fixture.digest}"
        )
    if fixture.pgbench_scale:
        count = await restored.execute("SELECT count(*) FROM pgbench_accounts")
        want = fixture.pgbench_scale * 100_000
        if int(count[0][0]) != want:
            return f"pgbench_accounts has {count[0][0]} rows, expected {want}"
    return "ok"


async def _integrity(restored: Cluster) -> tuple[str, int]:
    """amcheck's bt_index_check over every user B-tree index; 'skipped: …' when amcheck is not installed."""
    import psycopg

    try:
        await restored.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
    except psycopg.Error as exc:
        return f"skipped: amcheck unavailable ({str(exc).strip().splitlines()[0]})", 0
    rows = await restored.execute(
        "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE am.amname = 'btree' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
    )
    for (index,) in rows:
        try:
            await restored.execute("SELECT bt_index_check(%s::regclass)", (index,))
        except psycopg.Error as exc:
            return f"index {index}: {str(exc).strip().splitlines()[0]}", len(rows)
    return "ok", len(rows)


async def verify_restored(restored: Cluster, ledger: Ledger, fixture: Fixture) -> dict[str, Any]:
    """The `data_verified` event's detail: ledger comparison, newest recovered heartbeat, fixture and integrity."""
    rows = await restored.execute("SELECT seq, committed_at FROM greenflag_heartbeat")
    seqs = [int(row[0]) for row in rows]
    newest = max((row[1] for row in rows), default=None)
    comparison = compare_ledger(ledger.acknowledged, ledger.in_doubt, seqs)
    integrity, indexes = await _integrity(restored)
    return {
        **comparison.to_json(),
        "heartbeat_rows": len(seqs),
        "newest_seq": max(seqs, default=None),
        "newest_heartbeat_at": iso(newest) if newest is not None else None,
        "fixture": await _fixture_check(restored, fixture),
        "integrity": integrity,
        "indexes_checked": indexes,
    }


def conf_line(key: str, value: str) -> str:
    return f"{key} = '" + value.replace("'", "''") + "'\n"


def write_settings(data_dir: Path, settings: dict[str, str]) -> None:
    """Append settings to postgresql.auto.conf (later lines win), so the restored server restarts the same way."""
    auto = data_dir / "postgresql.auto.conf"
    with auto.open("a", encoding="utf-8") as out:
        out.write("\n# greenflag drill: settings of the restored server\n")
        for key, value in settings.items():
            out.write(conf_line(key, value))
