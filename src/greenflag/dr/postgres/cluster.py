"""A PostgreSQL cluster the drill drives: find the binaries, initdb, start, health-check, SIGKILL, stop."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenflag.dr.proc import OsUser, StepError, kill_tree, run, spawn, stop_process, tail
from greenflag.errors import UsageError

__all__ = ["Cluster", "HealthAnswer", "find_bin_dir", "free_port", "health_query"]

SERVER_TOOLS = ("initdb", "postgres", "pg_basebackup", "pg_receivewal")


def _has_tools(path: Path) -> bool:
    return all((path / tool).is_file() and os.access(path / tool, os.X_OK) for tool in SERVER_TOOLS)


def _version_key(path: str) -> tuple[int, ...]:
    parts = Path(path).parent.name.split(".")
    return tuple(int(p) for p in parts if p.isdigit())


def find_bin_dir(configured: str | None = None, major: int | None = None) -> Path:
    """The PostgreSQL server binaries: the configured directory; else, for a given server major version, Debian's
    /usr/lib/postgresql/MAJOR/bin; else `pg_config --bindir`; else the newest /usr/lib/postgresql/*/bin; else PATH."""
    if configured:
        path = Path(configured)
        if not _has_tools(path):
            raise UsageError(f"postgres.bin_dir {configured}: no {', '.join(SERVER_TOOLS)} there")
        return path
    candidates: list[Path] = []
    if major is not None:
        candidates.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for path in candidates:
        if _has_tools(path) and (major is None or _major_of(path) in (major, None)):
            return path
    need = f" {major}" if major is not None else ""
    raise UsageError(
        f"PostgreSQL{need} server binaries ({', '.join(SERVER_TOOLS)}) not found: install them (Debian: apt-get "
        "install postgresql) or set postgres.bin_dir in drill.yaml"
    )


def _major_of(bin_dir: Path) -> int | None:
    try:
        out = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    words = out.stdout.split()
    return int(words[-1].split(".")[0]) if words and words[-1].split(".")[0].isdigit() else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class HealthAnswer:
    ok: bool
    detail: str
    rows: int = 0


async def health_query(dsn: str, *, timeout: float = 2.0) -> HealthAnswer:
    """The drill's health query: connect, out of recovery (writable), and the heartbeat table answers."""
    import psycopg

    try:
        async with await psycopg.AsyncConnection.connect(
            dsn, autocommit=True, connect_timeout=max(1, round(timeout))
        ) as conn:
            cur = await conn.execute("SELECT pg_is_in_recovery()")
            row = await cur.fetchone()
            if row is None or row[0]:
                return HealthAnswer(False, "still in recovery")
            cur = await conn.execute("SELECT count(*) FROM greenflag_heartbeat")
            count = await cur.fetchone()
            return HealthAnswer(True, "writable; heartbeat table answers", int(count[0]) if count else 0)
    except (psycopg.Error, OSError) as exc:
        return HealthAnswer(False, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


@dataclass
class Cluster:
    """One PostgreSQL server: a data directory, a port on 127.0.0.1 and a socket directory."""

    bin_dir: Path
    user: OsUser
    data: Path
    port: int
    socket_dir: Path
    log: Path
    superuser: str = "postgres"
    dbname: str = "postgres"
    host: str = "127.0.0.1"
    proc: asyncio.subprocess.Process | None = None
    external_pid: int | None = None  # a server greenflag did not start (--dsn)
    base_dsn: str | None = None  # --dsn
    settings: dict[str, str] = field(default_factory=dict)

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)

    def dsn(self, **extra: str) -> str:
        """How greenflag and the tools connect: the user's DSN (--dsn), else this cluster's own socket directory."""
        from psycopg.conninfo import make_conninfo

        if self.base_dsn is not None:
            return make_conninfo(self.base_dsn, **extra)
        return make_conninfo(
            host=str(self.socket_dir), port=str(self.port), user=self.superuser, dbname=self.dbname, **extra
        )

    @property
    def pid(self) -> int | None:
        if self.proc is not None and self.proc.returncode is None:
            return self.proc.pid
        return self.external_pid

    async def init(self, *, timeout: float, wal_segment_size_mb: int = 16) -> None:
        cmd = [
            self.tool("initdb"),
            "-D",
            str(self.data),
            "-U",
            self.superuser,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--data-checksums",
            f"--wal-segsize={wal_segment_size_mb}",
            "--no-instructions",
        ]
        await run(self.user.argv(cmd), step="initdb", timeout=timeout, cwd=self.data.parent)

    async def start(self, *, timeout: float, settings: dict[str, str] | None = None, wait: bool = True) -> None:
        """Start `postgres` on 127.0.0.1:port (stderr to the log); wait until it answers unless `wait` is False."""
        self.user.mkdir(self.socket_dir, 0o700)
        merged = {
            "port": str(self.port),
            "listen_addresses": self.host,
            "unix_socket_directories": str(self.socket_dir),
            **self.settings,
            **(settings or {}),
        }
        cmd = [self.tool("postgres"), "-D", str(self.data)]
        for key, value in merged.items():
            cmd += ["-c", f"{key}={value}"]
        self.log.touch()
        self.user.own(self.log)
        self.proc = await spawn(self.user.argv(cmd), log=self.log, cwd=self.data.parent, env={"LC_ALL": "C"})
        if wait:
            await self.wait_ready(timeout=timeout, step="start PostgreSQL")

    async def wait_ready(self, *, timeout: float, step: str) -> None:
        import psycopg

        deadline = asyncio.get_running_loop().time() + timeout
        last = ""
        while True:
            if self.proc is not None and self.proc.returncode is not None:
                raise StepError(step, f"postgres exited with status {self.proc.returncode}: {tail(self.log)}")
            try:
                async with await psycopg.AsyncConnection.connect(self.dsn(), connect_timeout=2):
                    return
            except (psycopg.Error, OSError) as exc:
                last = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if asyncio.get_running_loop().time() > deadline:
                raise StepError(step, f"PostgreSQL did not accept connections within {timeout:g}s: {last}")
            await asyncio.sleep(0.05)

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        async with await psycopg.AsyncConnection.connect(self.dsn(), autocommit=True, connect_timeout=5) as conn:
            cur = await conn.execute(sql, params or None)  # no params: '%' is literal
            return list(await cur.fetchall()) if cur.description else []

    def kill(self) -> int:
        """SIGKILL the server and its processes (the fault); the PID killed."""
        pid = self.pid
        if pid is None:
            raise StepError("fault", "the PostgreSQL server is not running: nothing to kill")
        kill_tree(pid)
        return pid

    async def stop(self, grace: float = 20.0) -> None:
        """Fast shutdown (SIGINT), SIGKILL after `grace`; a no-op for servers greenflag did not start."""
        import signal

        if self.proc is not None:
            await stop_process(self.proc, grace=grace, sig=signal.SIGINT, group=False)
