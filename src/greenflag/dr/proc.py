"""Running a drill's external tools: each step bounded by a timeout, as a non-root user when greenflag is root.

PostgreSQL refuses to run as root. When greenflag runs as root, every server and tool the drill starts runs as
an unprivileged system user (by default `postgres`, which the Debian package creates) through
`setpriv --reuid --regid --init-groups`, which execs the program in place: the PID greenflag holds is the
program's own, so a SIGKILL reaches the server itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from greenflag.errors import UsageError

__all__ = [
    "OsUser",
    "StepError",
    "check_reachable",
    "kill_tree",
    "resolve_user",
    "run",
    "spawn",
    "stop_process",
    "tail",
]


class StepError(Exception):
    """A drill step failed; `step` names it, the message says why (with the tool's last output lines)."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


@dataclass(frozen=True)
class OsUser:
    name: str | None  # None: run as greenflag's own user
    uid: int
    gid: int

    def argv(self, cmd: Sequence[str]) -> list[str]:
        if self.name is None:
            return list(cmd)
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups", "--", *cmd]

    def own(self, *paths: Path) -> None:
        """Hand files greenflag created to the user the servers run as."""
        if self.name is None:
            return
        for path in paths:
            os.chown(path, self.uid, self.gid)

    def mkdir(self, path: Path, mode: int = 0o700) -> Path:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
        path.chmod(mode)
        self.own(path)
        return path


async def check_reachable(user: OsUser, path: Path) -> None:
    """Fail with a clear message when the user the servers run as cannot use `path` (e.g. it is under /root)."""
    if user.name is None:
        return
    proc = await asyncio.create_subprocess_exec(*user.argv(["test", "-x", str(path), "-a", "-w", str(path)]))
    if await proc.wait() != 0:
        raise UsageError(
            f"workdir {path}: the {user.name!r} user the drill runs PostgreSQL as cannot reach it (a parent "
            "directory is closed to other users); use a directory it can reach, such as one under /tmp"
        )


def resolve_user(name: str) -> OsUser:
    """greenflag's own user, or — when root — the named system user (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return OsUser(None, os.getuid(), os.getgid())
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise UsageError(
            f"postgres.os_user {name!r}: no such user. PostgreSQL refuses to run as root, so as root the drill runs "
            "it as this system user (the Debian postgresql package creates 'postgres')"
        ) from None
    if entry.pw_uid == 0:
        raise UsageError(f"postgres.os_user {name!r} is root; PostgreSQL refuses to run as root")
    if shutil.which("setpriv") is None:
        raise UsageError("running as root needs setpriv (util-linux) to start PostgreSQL as another user")
    return OsUser(name, entry.pw_uid, entry.pw_gid)


def tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())


async def run(
    cmd: Sequence[str],
    *,
    step: str,
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> str:
    """Run a command to completion; its stdout. Raises StepError on a non-zero exit or after `timeout`."""
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise StepError(step, f"{Path(cmd[0]).name if cmd else '?'} did not finish within {timeout:g}s") from None
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise
    if check and proc.returncode != 0:
        text = (err or out).decode(errors="replace").strip().splitlines()
        why = " | ".join(text[-6:]) or f"exit status {proc.returncode}"
        raise StepError(step, f"exit status {proc.returncode}: {why}")
    return out.decode(errors="replace")


async def spawn(
    cmd: Sequence[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> asyncio.subprocess.Process:
    """Start a long-running program in its own process group, stdout and stderr to `log`."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *cmd,
            stdout=out,
            stderr=out,
            stdin=asyncio.subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def kill_tree(pid: int) -> None:
    """SIGKILL a server and its child processes at once (its process group when it leads one)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
            return
    except ProcessLookupError:
        return
    children = _children(pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


async def stop_process(
    proc: asyncio.subprocess.Process, *, grace: float = 10.0, sig: int = signal.SIGTERM, group: bool = True
) -> None:
    """Ask a spawned program (its process group, or only itself) to exit, then SIGKILL the group after `grace`."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
