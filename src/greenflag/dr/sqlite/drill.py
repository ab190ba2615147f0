"""`greenflag drill sqlite`: online backups of a live SQLite database (or a base backup and WAL shipping), SIGKILL
of its writer, loss of the file, restore, RTO/RPO.

The drill never writes to `--db`: it reads it once with the online backup API into a working copy (the stand-in
for production), and drills on that copy:

    working copy (WAL mode) → heartbeat writer process → protection every `protection.interval`
    → FAULT (T0: SIGKILL of the writer, the database file and its -wal/-shm deleted)
    → restore → first successful health query (T1) → verify ledger, tables, quick_check

Protection `backup` (the default) is the sqlite3 online backup API (`Connection.backup`, one step, so each
backup is a consistent snapshot of committed transactions), written to a temporary file and renamed over the
previous backup. The backup opens the database read-only, so once the file is gone it fails instead of backing up
an empty one. Protection `wal` takes one such backup as a base, then ships the committed frames of the database's
write-ahead log every interval (dr/sqlite/walship.py); the restore replays them onto the base.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from greenflag.dr.config import DrillSpec, objectives_of
from greenflag.dr.ledger import Ledger
from greenflag.dr.model import DrillResult, Event, EventName
from greenflag.dr.proc import StepError
from greenflag.dr.score import compare_ledger, score
from greenflag.dr.sqlite.walship import WalShipper, archive_chain, online_backup, restore_wal
from greenflag.dr.sqlite.writer import SCHEMA
from greenflag.dr.timeline import Timeline
from greenflag.errors import UsageError

__all__ = ["run_sqlite_drill"]

E = EventName
FIXTURE_ROWS = 1000


def _uri(path: Path, mode: str) -> str:
    """A file: URI for `path` (percent-encoded: a '?', '#' or '%' in a file name is not a URI delimiter)."""
    return f"file:{urllib.parse.quote(str(path.absolute()))}?mode={mode}"


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(_uri(path, "ro"), uri=True, timeout=10.0)


def _table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'greenflag_heartbeat' ORDER BY name"
        )
    ]
    return {
        name: int(conn.execute(f'SELECT count(*) FROM "{name.replace(chr(34), chr(34) * 2)}"').fetchone()[0])
        for name in names
    }


def _prepare(source: Path | None, primary: Path) -> dict[str, int]:
    """The working copy: `source` read with the backup API, or a fixture database; its table row counts."""
    dst = sqlite3.connect(primary)
    try:
        if source is not None:
            src = _ro(source)
            try:
                src.backup(dst)
            finally:
                src.close()
        else:
            dst.execute("CREATE TABLE greenflag_fixture (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
            dst.executemany(
                "INSERT INTO greenflag_fixture VALUES (?, ?)", ((i, f"row {i}") for i in range(1, FIXTURE_ROWS + 1))
            )
            dst.commit()
        dst.execute("PRAGMA journal_mode = WAL")
        dst.execute("DROP TABLE IF EXISTS greenflag_heartbeat")
        dst.execute(SCHEMA)
        dst.commit()
        return _table_counts(dst)
    finally:
        dst.close()


class _Drill:
    def __init__(self, spec: DrillSpec, timeline: Timeline, keep: bool) -> None:
        self.spec = spec
        self.tl = timeline
        self.keep = keep
        if spec.workdir and Path(spec.workdir).exists() and any(Path(spec.workdir).iterdir()):
            raise UsageError(f"workdir {spec.workdir}: not empty; give a new or empty directory")
        self.work = Path(spec.workdir) if spec.workdir else Path(tempfile.mkdtemp(prefix="greenflag-drill-"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.primary = self.work / "primary.db"
        self.backup = self.work / "backup" / "latest.db"
        self.restored = self.work / "restored.db"
        self.method, self.interval = spec.method("sqlite"), spec.interval()
        self.shipper = WalShipper(self.primary, self.work / "archive") if self.method == "wal" else None
        self.ledger = Ledger()
        self.proc: asyncio.subprocess.Process | None = None
        self.reader: asyncio.Task[None] | None = None
        self.agent: asyncio.Task[None] | None = None
        self.stop_agent = asyncio.Event()
        self.snapshots: list[tuple[float, float]] = []  # (wall time taken, seconds it took)
        self.agent_error: str | None = None
        self.kept: dict[str, str] = {}
        self.step = "prepare the working copy"

    async def run(self) -> None:
        spec, tl = self.spec, self.tl
        source = Path(spec.sqlite.db) if spec.sqlite.db else None
        counts = await asyncio.to_thread(_prepare, source, self.primary)
        tl.add(
            E.CLUSTER_CREATED,
            working_copy=str(self.primary),
            source=str(source) if source else "fixture",
            tables=len(counts),
        )
        self.step = "heartbeat"
        await self.start_writer()
        self.step = "backup"
        tl.add(E.BACKUP_STARTED, method=self.method, interval_s=self.interval)
        if self.shipper is not None:  # the base backup, and the log it is shipped with
            await asyncio.to_thread(self.shipper.start)
            assert self.shipper.gen is not None
            base = self.shipper.gen / "base.db"
            tl.add(E.BACKUP_FINISHED, tool="sqlite3 backup API (base)", path=str(base), bytes=base.stat().st_size)
        else:
            self.backup.parent.mkdir(exist_ok=True)
            size = await asyncio.to_thread(online_backup, self.primary, self.backup)
            tl.add(E.BACKUP_FINISHED, tool="sqlite3 backup API", path=str(self.backup), bytes=size)
        self.snapshots.append((time.time(), 0.0))
        self.agent = asyncio.create_task(self.protect())
        tl.add(E.PROTECTION_READY, method=self.method, interval_s=self.interval)
        self.step = "heartbeat load"
        if self.shipper is not None:  # the log restarted mid-load, as checkpoints do: the restore follows two logs
            await self.load(spec.heartbeat.duration / 2)
            await asyncio.to_thread(self.restart_log)
            await self.load(spec.heartbeat.duration / 2)
        else:
            await self.load(spec.heartbeat.duration)
        self.step = "fault"
        await self.fault()
        self.step = "restore"
        await self.restore(counts)

    async def start_writer(self) -> None:
        cmd = [sys.executable, "-m", "greenflag.dr.sqlite.writer", str(self.primary), str(self.spec.heartbeat.rate)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), self.spec.timeouts.step)
        if line.strip() != b"ready":
            err = (await self.proc.stderr.read()).decode(errors="replace") if self.proc.stderr else ""
            raise StepError("heartbeat", f"the writer did not start: {err.strip().splitlines()[-1:] or line!r}")
        self.ledger.started = time.monotonic()
        self.reader = asyncio.create_task(self.read_ledger())
        self.tl.add(
            E.HEARTBEAT_STARTED, rate_per_s=self.spec.heartbeat.rate, pid=self.proc.pid, table="greenflag_heartbeat"
        )

    async def read_ledger(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        ledger, sent = self.ledger, None
        async for raw in self.proc.stdout:
            parts = raw.split()
            if len(parts) >= 2 and parts[0] == b"s":
                sent = int(parts[1])
            elif len(parts) >= 3 and parts[0] == b"a":
                ledger.acknowledged.append(int(parts[1]))
                ledger.ack_times.append(float(parts[2]))
                sent = None
        if sent is not None:
            ledger.in_doubt.append(sent)
        ledger.stopped = time.monotonic()

    async def protect(self) -> None:
        while not self.stop_agent.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_agent.wait(), self.interval)
                return
            began = time.monotonic()
            try:
                if self.shipper is not None:
                    await asyncio.to_thread(self.shipper.poll)
                else:
                    await asyncio.to_thread(online_backup, self.primary, self.backup)
            except (sqlite3.Error, OSError) as exc:
                self.agent_error = str(exc)
                continue
            self.snapshots.append((time.time(), time.monotonic() - began))

    async def load(self, seconds: float) -> None:
        assert self.proc is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(asyncio.ensure_future(self.proc.wait())), seconds)
        if self.proc.returncode is not None:
            raise StepError("heartbeat", f"the writer exited (status {self.proc.returncode}) before the fault")

    def restart_log(self) -> None:
        """A RESTART checkpoint of the working copy, as the service's own checkpoints make: the writer's next commit
        starts the log again from its beginning (new salts), so the shipper has to follow a restart."""
        conn = sqlite3.connect(_uri(self.primary, "rw"), uri=True, timeout=10.0)
        try:
            busy, frames, _ = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        finally:
            conn.close()
        self.tl.add(E.WAL_SWITCHED, why="mid-load: a RESTART checkpoint; the next commit starts the log again",
                    frames=int(frames), busy=bool(busy))  # fmt: skip

    def sabotage(self, archive: Path) -> None:
        """`fault.remove_wal_segment`: delete the newest generation's first shipped log (the one closed mid-load)."""
        chain = archive_chain(archive)
        logs = sorted(chain.gen.glob("wal-*.wal"))
        if len(logs) < 2:
            raise StepError("fault.remove_wal_segment", f"no closed log to remove in {chain.gen} (one log shipped)")
        logs[0].unlink()
        self.tl.add("wal_segment_removed", segment=logs[0].name, where=str(chain.gen), why="fault.remove_wal_segment")

    async def fault(self) -> None:
        assert self.proc is not None
        self.tl.add(E.FAULT_INJECTED, fault="SIGKILL of the writer and loss of the database file", pid=self.proc.pid)
        self.proc.kill()
        removed = []
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{self.primary}{suffix}")
            if path.exists():
                path.unlink()
                removed.append(path.name)
        self.tl.add(E.DATA_LOST, removed=removed, action="deleted")
        await self.proc.wait()
        if self.reader is not None:
            await asyncio.wait_for(self.reader, 10)
        self.stop_agent.set()
        if self.agent is not None:
            await asyncio.wait_for(self.agent, self.spec.timeouts.step)
        durations = [d for _, d in self.snapshots[1:]]
        mean = round(sum(durations) / len(durations), 4) if durations else None
        if self.shipper is not None:  # polls, not backups: what was shipped
            shipped = self.shipper.stats.to_json()
            self.tl.add("protection_stopped", shipments=len(self.snapshots), last_shipment_error=self.agent_error,
                        mean_shipment_s=mean, wal=shipped)  # fmt: skip
        else:
            self.tl.add("protection_stopped", backups=len(self.snapshots), last_backup_error=self.agent_error,
                        mean_backup_s=mean)  # fmt: skip
        self.tl.add(E.HEARTBEAT_STOPPED, **self.ledger.summary(self.spec.heartbeat.rate))

    async def restore(self, counts: dict[str, int]) -> None:
        tl = self.tl
        tl.add(E.RESTORE_STARTED, target=str(self.restored))
        if self.shipper is not None:  # the newest base, then every shipped log replayed by SQLite
            if self.spec.fault.remove_wal_segment:
                self.sabotage(self.shipper.archive)
            try:
                chain = await asyncio.to_thread(archive_chain, self.shipper.archive)
                tl.add(E.WAL_CHECKED, where=str(chain.gen), logs=len(chain.logs), missing=chain.missing)
                replayed = await asyncio.to_thread(restore_wal, self.shipper.archive, self.restored)
            except (OSError, ValueError, sqlite3.Error) as exc:
                raise StepError("restore", f"cannot restore from {self.shipper.archive}: {exc}") from None
            tl.add(E.RESTORE_FILES, **{"from": str(self.shipper.archive), **replayed})
        else:
            if not self.backup.exists():
                raise StepError("restore", f"no backup at {self.backup}")
            await asyncio.to_thread(shutil.copyfile, self.backup, self.restored)
            tl.add(E.RESTORE_FILES, **{"from": str(self.backup), "bytes": self.restored.stat().st_size})
        rows = await asyncio.to_thread(self.health)
        tl.add(E.HEALTHY, query="SELECT count(*) FROM greenflag_heartbeat", heartbeat_rows=rows)
        tl.add(E.DATA_VERIFIED, **await asyncio.to_thread(self.verify, counts))

    def health(self) -> int:
        try:
            conn = sqlite3.connect(_uri(self.restored, "rw"), uri=True, timeout=5.0)
            try:
                return int(conn.execute("SELECT count(*) FROM greenflag_heartbeat").fetchone()[0])
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StepError("restore", f"the restored database does not answer: {exc}") from None

    def verify(self, counts: dict[str, int]) -> dict[str, Any]:
        conn = _ro(self.restored)
        try:
            check = [row[0] for row in conn.execute("PRAGMA quick_check")]
            rows = conn.execute("SELECT seq, committed_at FROM greenflag_heartbeat").fetchall()
            restored_counts = _table_counts(conn)
        finally:
            conn.close()
        comparison = compare_ledger(self.ledger.acknowledged, self.ledger.in_doubt, [int(r[0]) for r in rows])
        diff = {t: (n, restored_counts.get(t)) for t, n in counts.items() if restored_counts.get(t) != n}
        return {
            **comparison.to_json(),
            "heartbeat_rows": len(rows),
            "newest_seq": max((int(r[0]) for r in rows), default=None),
            "newest_heartbeat_at": max((str(r[1]) for r in rows), default=None),
            "fixture": "ok"
            if not diff
            else "tables differ (expected, restored): "
            + ", ".join(f"{t} {a} vs {b}" for t, (a, b) in sorted(diff.items())),
            "integrity": "ok" if check == ["ok"] else "quick_check: " + "; ".join(check[:3]),
            "tables_checked": len(counts),
        }

    async def cleanup(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self.stop_agent.set()
        for task in (self.agent, self.reader):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self.keep:
            self.kept = {"workdir": str(self.work), "restored_db": str(self.restored)}
        elif not self.spec.workdir:
            shutil.rmtree(self.work, ignore_errors=True)


async def run_sqlite_drill(
    spec: DrillSpec, *, keep: bool = False, echo: Callable[[Event], None] | None = None
) -> DrillResult:
    """Run one SQLite drill and score it. Raises UsageError when `sqlite.db` cannot be read."""
    if spec.sqlite.db is not None:
        path = Path(spec.sqlite.db)
        if not path.is_file():
            raise UsageError(f"--db {path}: no such file")
        try:
            with contextlib.closing(_ro(path)) as conn:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise UsageError(f"--db {path}: not a readable SQLite database ({exc})") from None
    timeline = Timeline(echo=echo)
    protection = {"method": spec.method("sqlite"), "interval_s": spec.interval()}
    timeline.add(E.DRILL_STARTED, kind="sqlite", target=spec.sqlite.db or "fixture database", **protection)
    drill = _Drill(spec, timeline, keep)
    try:
        await drill.run()
    except StepError as exc:
        timeline.add(E.STEP_FAILED, step=exc.step, error=str(exc))
    except (OSError, TimeoutError, sqlite3.Error) as exc:
        timeline.add(E.STEP_FAILED, step=drill.step, error=str(exc).strip() or type(exc).__name__)
    finally:
        await drill.cleanup()
    timeline.add(E.DRILL_FINISHED)
    return score(
        "sqlite",
        timeline.events,
        objectives_of(spec, "sqlite"),
        protection=protection,
        extra={"kept": drill.kept} if drill.kept else None,
    )
