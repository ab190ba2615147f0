"""How a PostgreSQL drill protects the cluster, and how it restores from that protection.

- `stream`: `pg_basebackup` plus `pg_receivewal` streaming WAL into a directory over a replication slot; with
  `synchronous: true` the server's `synchronous_standby_names` names pg_receivewal's application_name, so a
  commit is acknowledged only once pg_receivewal has flushed it (`--synchronous`): RPO 0 by construction.
- `archive`: `pg_basebackup` plus `archive_command` copying each completed WAL segment; the segment being
  written when the server dies is lost, so RPO is up to `archive_timeout`.
- `pgbackrest`: a full `pgbackrest backup` plus `archive-push`, restored with `pgbackrest restore`.

Every protection restores into a new, empty data directory and hands back the settings the restored server
needs (a `restore_command`, no synchronous standby to wait for, no archiving into the drill's archive).
"""

from __future__ import annotations

import asyncio
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenflag.dr.postgres.cluster import Cluster
from greenflag.dr.proc import OsUser, StepError, run, spawn, stop_process, tail
from greenflag.dr.wal import parse_segment, start_segment_from_label

__all__ = ["PROTECTIONS", "ArchiveProtection", "Context", "PgBackRestProtection", "StreamProtection", "du"]

SLOT = "greenflag_drill"
APP_NAME = "greenflag_drill"
STANZA = "drill"


@dataclass(frozen=True)
class Context:
    bin_dir: Path
    user: OsUser
    dir: Path  # where the protection keeps its backups and WAL
    step_timeout: float
    segment_size: int  # bytes
    archive_timeout: float = 60.0


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _Base:
    name = ""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.base = ctx.dir / "base"

    def tool(self, name: str) -> str:
        return str(self.ctx.bin_dir / name)

    def server_settings(self) -> dict[str, str]:
        """Settings for a cluster greenflag creates (archive_mode needs them at start)."""
        return {}

    async def setup(self, cluster: Cluster) -> dict[str, Any]:
        return {}

    async def base_backup(self, cluster: Cluster) -> dict[str, Any]:
        dsn = cluster.dsn(application_name="greenflag_basebackup")
        cmd = [self.tool("pg_basebackup"), "-D", str(self.base), "-X", "stream", "-c", "fast", "-d", dsn]
        await run(self.ctx.user.argv(cmd), step="base backup (pg_basebackup)", timeout=self.ctx.step_timeout)
        return {"tool": "pg_basebackup", "path": str(self.base), "bytes": du(self.base)}

    async def verify(self) -> dict[str, Any] | None:
        if not (self.base / "backup_manifest").exists():
            return None
        # a relative path: pg_verifybackup hands it to pg_waldump through a shell, unquoted
        cmd = [self.tool("pg_verifybackup"), self.base.name]
        await run(self.ctx.user.argv(cmd), step="verify backup (pg_verifybackup)", timeout=self.ctx.step_timeout,
                  cwd=self.base.parent)  # fmt: skip
        return {"tool": "pg_verifybackup", "result": "ok"}

    async def after_fault(self) -> None:
        return None

    def backup_start_segment(self) -> str | None:
        label = self.base / "backup_label"
        return start_segment_from_label(label.read_text()) if label.exists() else None

    def wal_files(self) -> dict[str, Path]:
        """Archived WAL segment name → file."""
        return {}

    def wal_where(self) -> str:
        return str(self.ctx.dir)

    async def restore(self, target: Path) -> dict[str, Any]:
        cmd = ["cp", "-a", str(self.base), str(target)]
        await run(self.ctx.user.argv(cmd), step="restore (copy the base backup)", timeout=self.ctx.step_timeout)
        signal_file = target / "recovery.signal"
        signal_file.touch()
        self.ctx.user.own(signal_file)
        return {"from": str(self.base), "bytes": du(target)}

    def restored_settings(self) -> dict[str, str]:
        return {}

    async def close(self) -> None:
        return None


class StreamProtection(_Base):
    name = "stream"

    def __init__(self, ctx: Context, synchronous: bool) -> None:
        super().__init__(ctx)
        self.synchronous = synchronous
        self.wal_dir = ctx.dir / "wal"
        self.log = ctx.dir / "pg_receivewal.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def setup(self, cluster: Cluster) -> dict[str, Any]:
        user, timeout = self.ctx.user, self.ctx.step_timeout
        user.mkdir(self.wal_dir)
        await run(
            user.argv(
                [self.tool("pg_receivewal"), "--create-slot", "--if-not-exists", "-S", SLOT, "-d", cluster.dsn()]
            ),
            step="create replication slot",
            timeout=timeout,
        )
        cmd = [
            self.tool("pg_receivewal"),
            "-D",
            str(self.wal_dir),
            "-S",
            SLOT,
            "--no-loop",
            "-d",
            cluster.dsn(application_name=APP_NAME),
        ] + (["--synchronous"] if self.synchronous else [])
        self.proc = await spawn(user.argv(cmd), log=self.log)
        if self.synchronous:
            await cluster.execute(f"ALTER SYSTEM SET synchronous_standby_names = {_sql_literal(APP_NAME)}")
            await cluster.execute("SELECT pg_reload_conf()")
        want = "sync" if self.synchronous else None
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self.proc.returncode is not None:
                raise StepError("start pg_receivewal", f"pg_receivewal exited: {tail(self.log)}")
            rows = await cluster.execute(
                "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = %s", (APP_NAME,)
            )
            if rows and rows[0][0] == "streaming" and (want is None or rows[0][1] == want):
                return {"wal_dir": str(self.wal_dir), "slot": SLOT, "sync_state": rows[0][1]}
            if asyncio.get_running_loop().time() > deadline:
                raise StepError(
                    "start pg_receivewal",
                    f"pg_receivewal not streaming{' synchronously' if want else ''} "
                    f"after {timeout:g}s: {rows} {tail(self.log)}",
                )
            await asyncio.sleep(0.05)

    async def after_fault(self) -> None:
        """Stop pg_receivewal (it flushes what it has) and seal the partial segment so recovery can use it."""
        if self.proc is not None:
            await stop_process(self.proc, grace=10.0)
        for partial in sorted(self.wal_dir.glob("*.partial")):
            sealed = partial.with_suffix("")
            if not sealed.exists():
                partial.rename(sealed)

    def wal_files(self) -> dict[str, Path]:
        return {p.name: p for p in self.wal_dir.iterdir() if parse_segment(p.name, self.ctx.segment_size)}

    def wal_where(self) -> str:
        return str(self.wal_dir)

    def restored_settings(self) -> dict[str, str]:
        return {"restore_command": f"cp {shlex.quote(str(self.wal_dir))}/%f %p"}

    async def close(self) -> None:
        if self.proc is not None:
            await stop_process(self.proc, grace=5.0)


class ArchiveProtection(_Base):
    name = "archive"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.archive = ctx.dir / "archive"

    def _command(self) -> str:
        where = shlex.quote(str(self.archive))
        return f"test ! -f {where}/%f && cp %p {where}/%f"

    def server_settings(self) -> dict[str, str]:
        return {
            "archive_mode": "on",
            "archive_command": self._command(),
            "archive_timeout": f"{max(1, round(self.ctx.archive_timeout))}s",
        }

    async def setup(self, cluster: Cluster) -> dict[str, Any]:
        self.ctx.user.mkdir(self.archive)
        await _require_archive_mode(cluster)
        for key, value in self.server_settings().items():
            if key != "archive_mode":
                await cluster.execute(f"ALTER SYSTEM SET {key} = {_sql_literal(value)}")
        await cluster.execute("SELECT pg_reload_conf()")
        return {"archive": str(self.archive), "archive_timeout_s": self.ctx.archive_timeout}

    def wal_files(self) -> dict[str, Path]:
        return {p.name: p for p in self.archive.iterdir() if parse_segment(p.name, self.ctx.segment_size)}

    def wal_where(self) -> str:
        return str(self.archive)

    def restored_settings(self) -> dict[str, str]:
        return {"restore_command": f"cp {shlex.quote(str(self.archive))}/%f %p"}


async def _require_archive_mode(cluster: Cluster) -> None:
    rows = await cluster.execute("SHOW archive_mode")
    if not rows or rows[0][0] not in ("on", "always"):
        raise StepError(
            "set up archiving",
            "archive_mode is off on the server: set archive_mode = on and restart it, or use protection.method: stream",
        )


class PgBackRestProtection(_Base):
    name = "pgbackrest"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.conf = ctx.dir / "pgbackrest.conf"
        self.repo = ctx.dir / "repo"
        found = shutil.which("pgbackrest")
        if found is None:
            raise StepError(
                "set up pgBackRest", "pgbackrest not found: install it (Debian: apt-get install pgbackrest)"
            )
        self.exe = found
        self.restored_target: Path | None = None

    def _cmd(self, *args: str) -> list[str]:
        return self.ctx.user.argv([self.exe, f"--config={self.conf}", f"--stanza={STANZA}", *args])

    def server_settings(self) -> dict[str, str]:
        push = f"{shlex.quote(self.exe)} --config={shlex.quote(str(self.conf))} --stanza={STANZA} archive-push %p"
        return {
            "archive_mode": "on",
            "archive_command": push,
            "archive_timeout": f"{max(1, round(self.ctx.archive_timeout))}s",
        }

    async def setup(self, cluster: Cluster) -> dict[str, Any]:
        user, d = self.ctx.user, self.ctx.dir
        for sub in ("repo", "log", "lock", "spool"):
            user.mkdir(d / sub)
        self.conf.write_text(
            "[global]\n"
            f"repo1-path={self.repo}\nlog-path={d / 'log'}\nlock-path={d / 'lock'}\nspool-path={d / 'spool'}\n"
            "repo1-retention-full=1\nstart-fast=y\ncompress-type=lz4\nprocess-max=2\n"
            "log-level-console=warn\nlog-level-file=info\n\n"
            f"[{STANZA}]\npg1-path={cluster.data}\npg1-port={cluster.port}\npg1-socket-path={cluster.socket_dir}\n"
            f"pg1-user={cluster.superuser}\n"
        )
        user.own(self.conf)
        await _require_archive_mode(cluster)
        for key, value in self.server_settings().items():
            if key != "archive_mode":
                await cluster.execute(f"ALTER SYSTEM SET {key} = {_sql_literal(value)}")
        await cluster.execute("SELECT pg_reload_conf()")
        timeout = self.ctx.step_timeout
        await run(self._cmd("stanza-create"), step="pgbackrest stanza-create", timeout=timeout)
        await run(self._cmd("check"), step="pgbackrest check", timeout=timeout)
        return {"repo": str(self.repo), "stanza": STANZA, "archive_timeout_s": self.ctx.archive_timeout}

    async def base_backup(self, cluster: Cluster) -> dict[str, Any]:
        await run(self._cmd("backup", "--type=full"), step="pgbackrest backup", timeout=self.ctx.step_timeout)
        return {"tool": "pgbackrest", "repo": str(self.repo), "bytes": du(self.repo / "backup")}

    async def verify(self) -> dict[str, Any] | None:
        await run(self._cmd("verify"), step="pgbackrest verify", timeout=self.ctx.step_timeout)
        return {"tool": "pgbackrest verify", "result": "ok"}

    def backup_start_segment(self) -> str | None:
        import json

        for backup_dir in sorted((self.repo / "backup" / STANZA).glob("*F")):
            label = backup_dir / "backup.manifest"
            if label.exists():
                for line in label.read_text().splitlines():
                    if line.startswith("backup-archive-start="):
                        value = json.loads(line.partition("=")[2])
                        return str(value)
        return None

    def wal_files(self) -> dict[str, Path]:
        out: dict[str, Path] = {}
        for path in (self.repo / "archive" / STANZA).glob("*/*/*"):
            name = path.name.split("-")[0]
            if parse_segment(name, self.ctx.segment_size):
                out[name] = path
        return out

    def wal_where(self) -> str:
        return str(self.repo / "archive" / STANZA)

    async def restore(self, target: Path) -> dict[str, Any]:
        self.ctx.user.mkdir(target)
        await run(
            self._cmd("restore", f"--pg1-path={target}"), step="pgbackrest restore", timeout=self.ctx.step_timeout
        )
        # pgBackRest writes its restore_command without escaping quotes in paths; greenflag writes its own
        auto = target / "postgresql.auto.conf"
        lines = auto.read_text().splitlines(keepends=True)
        auto.write_text("".join(line for line in lines if not line.lstrip().startswith("restore_command")))
        self.restored_target = target
        return {"from": str(self.repo), "bytes": du(target)}

    def restored_settings(self) -> dict[str, str]:
        get = [self.exe, f"--config={self.conf}", f"--stanza={STANZA}"]
        if self.restored_target is not None:
            get.append(f"--pg1-path={self.restored_target}")
        return {"restore_command": " ".join(shlex.quote(part) for part in get) + ' archive-get %f "%p"'}


PROTECTIONS = ("stream", "archive", "pgbackrest")
