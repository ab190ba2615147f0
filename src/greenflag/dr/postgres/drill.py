"""`greenflag drill postgres`: protect a cluster, write heartbeats, SIGKILL it and lose its data, restore, measure.

    cluster (throwaway, or --dsn) → protection → heartbeat → base backup → load → FAULT (T0)
    → seal WAL → check the archive for gaps → restore into a new data directory → start
    → first successful health query (T1) → verify the ledger, fixture and indexes → score

Every step is bounded by a timeout and appends to the timeline; a step that fails ends the drill with a
`step_failed` event (the score turns it into a finding), and cleanup always runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import pwd
import shlex
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from greenflag.dr.config import DrillSpec, objectives_of
from greenflag.dr.model import DrillResult, Event, EventName
from greenflag.dr.postgres.cluster import Cluster, find_bin_dir, free_port, health_query
from greenflag.dr.postgres.data import Fixture, prepare, verify_restored, write_settings
from greenflag.dr.postgres.heartbeat import PgHeartbeat
from greenflag.dr.postgres.protect import (
    ArchiveProtection,
    Context,
    PgBackRestProtection,
    StreamProtection,
    _Base,
)
from greenflag.dr.proc import OsUser, StepError, check_reachable, resolve_user, run, tail
from greenflag.dr.score import score
from greenflag.dr.timeline import Timeline
from greenflag.dr.wal import missing_segments
from greenflag.errors import UsageError

__all__ = ["run_postgres_drill"]


def _db_errors() -> type[Exception]:
    import psycopg

    return psycopg.Error


E = EventName


class _Drill:
    def __init__(self, spec: DrillSpec, timeline: Timeline, keep: bool) -> None:
        self.spec = spec
        self.tl = timeline
        self.keep = keep
        self.step_timeout = spec.timeouts.step
        if spec.workdir and Path(spec.workdir).exists() and any(Path(spec.workdir).iterdir()):
            raise UsageError(f"workdir {spec.workdir}: not empty; give a new or empty directory")
        self.work = Path(spec.workdir) if spec.workdir else Path(tempfile.mkdtemp(prefix="greenflag-drill-"))
        self.primary: Cluster | None = None
        self.restored: Cluster | None = None
        self.protection: _Base | None = None
        self.heartbeat: PgHeartbeat | None = None
        self.writer: asyncio.Task[None] | None = None
        self.killed = False
        self.kept: dict[str, str] = {}
        self.step = "set up the cluster"

    # -- the primary -------------------------------------------------------------------------------------
    async def throwaway(self) -> Cluster:
        pg = self.spec.postgres
        user = resolve_user(pg.os_user)
        user.mkdir(self.work, 0o755)
        await check_reachable(user, self.work)
        cluster = Cluster(
            find_bin_dir(pg.bin_dir),
            user,
            self.work / "primary",
            free_port(),
            self.work / "primary-sock",
            self.work / "primary.log",
        )
        self.primary = cluster
        await cluster.init(timeout=self.step_timeout, wal_segment_size_mb=pg.wal_segment_size_mb)
        self.tl.add(
            E.CLUSTER_CREATED,
            data_dir=str(cluster.data),
            bin_dir=str(cluster.bin_dir),
            os_user=user.name or pwd.getpwuid(os.getuid()).pw_name,
        )
        return cluster

    async def external(self, dsn: str) -> Cluster:
        import psycopg

        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=10) as conn:
                cur = await conn.execute(
                    "SELECT current_setting('data_directory'), current_setting('port')::int, "
                    "current_setting('server_version_num')::int / 10000, current_setting('unix_socket_directories'), "
                    "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), current_user"
                )
                row = await cur.fetchone()
        except psycopg.Error as exc:
            raise UsageError(f"--dsn: cannot connect or read the server's settings: {str(exc).strip()}") from None
        assert row is not None
        data, port, major, sockets, superuser, role = row
        if not superuser:
            raise UsageError(
                f"--dsn: role {role!r} is not a superuser; the drill changes server settings and streams WAL"
            )
        data_dir = Path(data)
        pid_file = data_dir / "postmaster.pid"
        if not pid_file.exists():
            raise UsageError(
                f"--dsn: the server's data directory {data_dir} is not on this machine; the drill kills the "
                "server and loses its data directory, so it runs where the server runs"
            )
        owner = data_dir.stat().st_uid
        if os.geteuid() == 0:
            user = OsUser(pwd.getpwuid(owner).pw_name, owner, data_dir.stat().st_gid)
        elif owner != os.getuid():
            raise UsageError(f"--dsn: {data_dir} belongs to uid {owner}; run the drill as that user (or root)")
        else:
            user = OsUser(None, os.getuid(), os.getgid())
        user.mkdir(self.work, 0o755)
        await check_reachable(user, self.work)
        socket_dir = Path(str(sockets).split(",")[0].strip() or "/tmp")
        cluster = Cluster(
            find_bin_dir(self.spec.postgres.bin_dir, int(major)),
            user,
            data_dir,
            int(port),
            socket_dir,
            self.work / "primary.log",
            superuser=str(role),
            external_pid=int(pid_file.read_text().split()[0]),
            base_dsn=dsn,
        )
        self.primary = cluster
        self.tl.add(E.SERVER_STARTED, data_dir=str(data_dir), pid=cluster.external_pid, external=True)
        return cluster

    def make_protection(self, cluster: Cluster, segment_size: int) -> _Base:
        p = self.spec.protection
        ctx = Context(
            cluster.bin_dir, cluster.user, self.work / "backup", self.step_timeout, segment_size, p.archive_timeout
        )
        cluster.user.mkdir(ctx.dir)
        method = self.spec.method("postgres")
        if method == "archive":
            return ArchiveProtection(ctx)
        if method == "pgbackrest":
            return PgBackRestProtection(ctx)
        return StreamProtection(ctx, p.synchronous)

    # -- the drill ---------------------------------------------------------------------------------------
    async def run(self) -> None:
        spec, tl = self.spec, self.tl
        dsn = spec.postgres.dsn
        primary = await (self.external(dsn) if dsn else self.throwaway())
        segment_size = spec.postgres.wal_segment_size_mb * 1024 * 1024
        if dsn:
            rows = await primary.execute("SELECT setting::bigint * 1 FROM pg_settings WHERE name = 'wal_segment_size'")
            segment_size = int(rows[0][0])
        protection = self.protection = self.make_protection(primary, segment_size)
        if not dsn:
            primary.settings.update(protection.server_settings())
            await primary.start(timeout=self.step_timeout)
            tl.add(E.SERVER_STARTED, port=primary.port, pid=primary.pid)
            if spec.postgres.pgbench_scale:
                cmd = [primary.tool("pgbench"), "-i", "-q", "-s", str(spec.postgres.pgbench_scale), "-d", primary.dsn()]
                await run(primary.user.argv(cmd), step="pgbench -i", timeout=self.step_timeout)
        self.step = "prepare the heartbeat and fixture tables"
        fixture = await prepare(primary, spec.postgres.pgbench_scale)
        self.step = f"set up protection ({protection.name})"
        tl.add(E.PROTECTION_READY, method=protection.name, **await protection.setup(primary))
        self.step = "heartbeat"
        await self.start_heartbeat(primary)
        self.step = "base backup"
        tl.add(E.BACKUP_STARTED, method=protection.name)
        tl.add(E.BACKUP_FINISHED, **await protection.base_backup(primary))
        await self.switch_wal(primary, "after the base backup")
        if spec.postgres.verify_backup:
            verified = await protection.verify()
            if verified is not None:
                tl.add(E.BACKUP_VERIFIED, **verified)
        self.step = "heartbeat load"
        await self.load(spec.heartbeat.duration / 2)
        mid_load = await self.switch_wal(primary, "mid-load")
        await self.load(spec.heartbeat.duration / 2)
        self.step = "fault"
        await self.fault(primary)
        self.step = "restore"
        await protection.after_fault()
        if spec.fault.remove_wal_segment:
            self.sabotage(protection, mid_load)
        self.check_wal(protection, segment_size)
        await self.restore(primary, protection, fixture)

    async def start_heartbeat(self, primary: Cluster) -> None:
        hb = self.heartbeat = PgHeartbeat(primary.dsn(application_name="greenflag_heartbeat"), self.spec.heartbeat.rate)
        self.writer = asyncio.create_task(hb.run())
        await asyncio.wait_for(hb.first_ack.wait(), self.step_timeout)
        if hb.ledger.error:
            raise StepError("heartbeat", hb.ledger.error)
        self.tl.add(E.HEARTBEAT_STARTED, rate_per_s=self.spec.heartbeat.rate, table="greenflag_heartbeat")

    async def load(self, seconds: float) -> None:
        assert self.writer is not None and self.heartbeat is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.writer), seconds)
        if self.writer.done():
            raise StepError(
                "heartbeat", f"the heartbeat writer stopped before the fault: {self.heartbeat.ledger.error}"
            )

    async def switch_wal(self, primary: Cluster, why: str) -> str:
        """Close the current WAL segment (so the restore replays archived segments, not only the last partial one);
        the name of the segment closed."""
        rows = await primary.execute("SELECT pg_walfile_name(pg_switch_wal())")
        self.tl.add(E.WAL_SWITCHED, why=why, closed=rows[0][0])
        return str(rows[0][0])

    async def fault(self, primary: Cluster) -> None:
        assert self.heartbeat is not None and self.writer is not None
        pid = primary.pid
        self.tl.add(E.FAULT_INJECTED, fault="SIGKILL of the server and loss of its data directory", pid=pid)
        primary.kill()
        self.killed = True
        if primary.base_dsn is None:  # gone at once (a rename); the bytes are deleted with the work directory
            primary.data.rename(primary.data.with_name("primary.lost"))
            self.tl.add(E.DATA_LOST, data_dir=str(primary.data), action="removed")
        else:
            aside = primary.data.with_name(
                f"{primary.data.name}.greenflag-lost-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
            )
            primary.data.rename(aside)
            self.tl.add(E.DATA_LOST, data_dir=str(primary.data), action="moved aside", moved_to=str(aside))
        self.heartbeat.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.writer), 15)
        self.tl.add(E.HEARTBEAT_STOPPED, **self.heartbeat.ledger.summary(self.spec.heartbeat.rate))

    def sabotage(self, protection: _Base, preferred: str) -> None:
        files = protection.wal_files()
        names = sorted(files)
        victim = preferred if preferred in files and preferred != names[-1] else None
        if victim is None:
            start = protection.backup_start_segment() or ""
            older = [n for n in names[:-1] if n[8:] > start[8:]]
            victim = older[0] if older else None
        if victim is None:
            raise StepError(
                "fault.remove_wal_segment", f"no archived WAL segment to remove in {protection.wal_where()}"
            )
        files[victim].unlink()
        self.tl.add("wal_segment_removed", segment=victim, where=protection.wal_where(), why="fault.remove_wal_segment")

    def check_wal(self, protection: _Base, segment_size: int) -> None:
        start = protection.backup_start_segment()
        names = sorted(protection.wal_files())
        missing = missing_segments(names, start, segment_size) if start else []
        self.tl.add(
            E.WAL_CHECKED,
            where=protection.wal_where(),
            backup_start=start,
            segments=len(names),
            newest=names[-1] if names else None,
            missing=missing,
        )

    async def restore(self, primary: Cluster, protection: _Base, fixture: Fixture) -> None:
        assert self.heartbeat is not None
        tl = self.tl
        user = primary.user
        target = self.work / "restored"
        tl.add(E.RESTORE_STARTED, target=str(target))
        tl.add(E.RESTORE_FILES, **await protection.restore(target))
        restored = self.restored = Cluster(
            primary.bin_dir,
            user,
            target,
            free_port(),
            self.work / "restored-sock",
            self.work / "restored.log",
            superuser=primary.superuser,
        )
        settings = {
            "port": str(restored.port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(restored.socket_dir),
            "synchronous_standby_names": "",
            "archive_mode": "off",
            "recovery_target_timeline": "latest",
            **protection.restored_settings(),
        }
        if not (target / "postgresql.conf").exists():  # a Debian-style cluster keeps its configuration in /etc
            (target / "postgresql.conf").write_text("")
            hba = target / "pg_hba.conf"
            hba.write_text("local all all trust\n")  # the restored copy answers on its own 0700 socket directory only
            user.own(target / "postgresql.conf", hba)
            settings["hba_file"] = str(hba)
        write_settings(target, settings)
        await restored.start(timeout=self.step_timeout, wait=False)
        tl.add(E.RESTORED_SERVER_STARTED, port=restored.port, pid=restored.pid, log=str(restored.log))
        await self.wait_healthy(restored)
        tl.add(E.DATA_VERIFIED, **await verify_restored(restored, self.heartbeat.ledger, fixture))

    async def wait_healthy(self, restored: Cluster) -> None:
        fault = next(e for e in self.tl.events if e.event == E.FAULT_INJECTED)
        deadline = fault.t + self.spec.timeouts.restore
        last = ""
        while True:
            if restored.proc is not None and restored.proc.returncode is not None:
                raise StepError(
                    "restore",
                    f"the restored server exited (status {restored.proc.returncode}) before it "
                    f"was healthy: {tail(restored.log)}",
                )
            answer = await health_query(restored.dsn(), timeout=2)
            if answer.ok:
                self.tl.add(
                    E.HEALTHY,
                    query="SELECT pg_is_in_recovery(); SELECT count(*) FROM greenflag_heartbeat",
                    heartbeat_rows=answer.rows,
                )
                return
            last = answer.detail
            if self.tl.elapsed() > deadline:
                raise StepError(
                    "restore",
                    f"not healthy within timeouts.restore ({self.spec.timeouts.restore:g}s): "
                    f"{last}; {tail(restored.log, 3)}",
                )
            await asyncio.sleep(0.05)

    async def cleanup(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()
        if self.writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.writer, 10)
        if self.protection is not None:
            await self.protection.close()
        if self.primary is not None and not self.killed:
            await self.primary.stop()
        if self.restored is not None and self.restored.proc is not None:
            if self.keep and self.restored.proc.returncode is None:
                self.kept = {
                    "restored_dsn": self.restored.dsn(),
                    "restored_data_dir": str(self.restored.data),
                    "stop": shlex.join(
                        self.restored.user.argv([self.restored.tool("pg_ctl"), "-D", str(self.restored.data), "stop"])
                    ),
                }
            else:
                await self.restored.stop()
        if self.keep:
            self.kept["workdir"] = str(self.work)
        elif not self.spec.workdir:
            shutil.rmtree(self.work, ignore_errors=True)


async def run_postgres_drill(
    spec: DrillSpec, *, keep: bool = False, echo: Callable[[Event], None] | None = None
) -> DrillResult:
    """Run one PostgreSQL drill and score it. Raises UsageError for bad input found before any fault."""
    import importlib.util

    if importlib.util.find_spec("psycopg") is None:
        raise UsageError("greenflag drill postgres needs the psycopg driver: pip install 'greenflag[postgres]'")
    timeline = Timeline(echo=echo)
    method = spec.method("postgres")
    protection: dict[str, Any] = {"method": method}
    if method == "stream":
        protection["synchronous"] = spec.protection.synchronous
    else:
        protection["archive_timeout_s"] = spec.protection.archive_timeout
    timeline.add(
        E.DRILL_STARTED, kind="postgres", target="--dsn" if spec.postgres.dsn else "throwaway cluster", **protection
    )
    drill = _Drill(spec, timeline, keep)
    try:
        await drill.run()
    except StepError as exc:
        timeline.add(E.STEP_FAILED, step=exc.step, error=str(exc))
    except (OSError, TimeoutError, _db_errors()) as exc:
        timeline.add(E.STEP_FAILED, step=drill.step, error=str(exc).strip() or type(exc).__name__)
    finally:
        await drill.cleanup()
    timeline.add(E.DRILL_FINISHED)
    return score(
        "postgres",
        timeline.events,
        objectives_of(spec, "postgres"),
        protection=protection,
        extra={"kept": drill.kept} if drill.kept else None,
    )
