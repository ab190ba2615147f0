"""Running a platform's commands: awaited ones (`stop`, `status`) and detached ones (`deploy`, `launch`).

Every command is an argument list (never a shell line), runs in its own session with the platform's `cwd` and
environment, and has a timeout after which its whole process group is killed. Its output is kept for the event
that reports a failure.

A detached command outlives the controller that started it: a wrapper shell writes its exit status to a `.rc`
file, so a controller killed mid-deploy is followed by one that finds the deploy still running (its pid, with the
`.rc` path in its command line against pid reuse) or finished (the `.rc` file), never one that deploys twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from greenflag.platform.base import PlatformError
from greenflag.platform.process import pid_alive

__all__ = ["CommandResult", "JobFiles", "check_executable", "last_lines", "poll_job", "run", "spawn_job", "stop_job"]

MAX_OUTPUT = 64 * 1024
# "$0" is the .rc path (so it is in the wrapper's command line); "$@" is the command, run as its own argv.
_WRAPPER = 'rc="$0"; "$@"; status=$?; echo "$status" > "$rc.tmp" && mv "$rc.tmp" "$rc"; exit "$status"'


@dataclass(frozen=True)
class CommandResult:
    returncode: int | None  # None: timed out, or its exit status was lost
    stdout: str
    stderr: str
    duration_s: float
    detail: str  # "exit 0", "exit 3", "timed out after 600s", "its exit status was lost"

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def output(self, lines: int = 3) -> str:
        """Its last non-empty lines of output (stdout, then stderr), newline-separated."""
        text = self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr
        return "\n".join([line.strip()[:200] for line in text.splitlines() if line.strip()][-lines:])

    def describe(self, what: str) -> str:
        """`platform.stop of v2: exit 3; last output: fatal: …` (one line)."""
        tail = last_lines(self.output())
        return f"{what}: {self.detail}" + (f"; last output: {tail}" if tail else "; no output")


def last_lines(text: str, lines: int = 3, limit: int = 600) -> str:
    """The last non-empty lines of `text`, joined with ` / ` (for one-line events)."""
    kept = [line.strip()[:200] for line in text.splitlines() if line.strip()][-lines:]
    return " / ".join(kept)[-limit:]


def check_executable(argv: list[str], key: str, *, cwd: str | None, env: dict[str, str]) -> None:
    """PlatformError at once when `argv[0]` cannot be executed (so a typo rolls back now, not after retries)."""
    program = argv[0]
    if "/" in program:
        path = Path(program) if Path(program).is_absolute() else Path(cwd or ".") / program
        found = path.is_file() and os.access(path, os.X_OK)
    else:
        found = shutil.which(program, path=env.get("PATH", os.defpath)) is not None
    if not found:
        raise PlatformError(f"{key}: cannot start {program!r}: no such executable file")


async def run(argv: list[str], *, env: dict[str, str], cwd: str | None, timeout_s: float) -> CommandResult:
    """Run `argv` to its end (own process group), stdout and stderr captured; kill the group on timeout."""
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        return CommandResult(None, "", str(exc.strerror or exc), 0.0, f"cannot start {argv[0]!r}")
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await proc.communicate()
    except (TimeoutError, asyncio.CancelledError) as exc:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        return CommandResult(None, "", "", time.monotonic() - started, f"timed out after {timeout_s:g}s")
    code = proc.returncode
    text_out = out.decode(errors="replace")[-MAX_OUTPUT:]
    text_err = err.decode(errors="replace")[-MAX_OUTPUT:]
    return CommandResult(code, text_out, text_err, time.monotonic() - started, f"exit {code}")


@dataclass(frozen=True)
class JobFiles:
    """Where a detached command's stdout, stderr and exit status go."""

    out: Path
    err: Path
    rc: Path

    @classmethod
    def under(cls, directory: Path, name: str) -> JobFiles:
        return cls(directory / f"{name}.out", directory / f"{name}.log", directory / f"{name}.rc")

    def read(self, path: Path) -> str:
        try:
            with open(path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - MAX_OUTPUT))
                return fh.read().decode(errors="replace")
        except OSError:
            return ""

    def status(self) -> int | None:
        try:
            return int(self.rc.read_text().strip())
        except (OSError, ValueError):
            return None


def spawn_job(
    argv: list[str], files: JobFiles, *, env: dict[str, str], cwd: str | None, merge: bool = False
) -> subprocess.Popen[bytes]:
    """Start `argv` detached (its own session) through the wrapper that writes its exit status to `files.rc`.
    With `merge`, stdout goes to the log with stderr, in the order written (`files.out` stays empty)."""
    files.rc.parent.mkdir(parents=True, exist_ok=True)
    for stale in (files.rc, files.rc.with_name(files.rc.name + ".tmp")):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    with open(files.err, "wb") as err, contextlib.ExitStack() as stack:
        out = err if merge else stack.enter_context(open(files.out, "wb"))
        try:
            return subprocess.Popen(
                ["/bin/sh", "-c", _WRAPPER, str(files.rc), *argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            raise PlatformError(f"cannot start {argv[0]!r}: {exc.strerror}") from None


def _running(pid: int, files: JobFiles, child: subprocess.Popen[bytes] | None) -> bool:
    if child is not None and child.pid == pid:
        return child.poll() is None
    return pid_alive(pid, str(files.rc))


def poll_job(
    pid: int, files: JobFiles, *, started: float, timeout_s: float, child: subprocess.Popen[bytes] | None = None
) -> CommandResult | None:
    """The result of a detached command, or None while it runs. Past `timeout_s` (wall clock since `started`) its
    process group is killed and the result says it timed out."""
    elapsed = time.time() - started
    code = files.status()
    if code is None and _running(pid, files, child):
        if elapsed <= timeout_s:
            return None
        _kill_group(pid, signal.SIGKILL)
        return CommandResult(None, files.read(files.out), files.read(files.err), elapsed,
                             f"timed out after {timeout_s:g}s")  # fmt: skip
    if child is not None:
        child.poll()  # reap it
    detail = "its exit status was lost (it was killed, or its .rc file removed)" if code is None else f"exit {code}"
    return CommandResult(code, files.read(files.out), files.read(files.err), elapsed, detail)


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def stop_job(pid: int, files: JobFiles, *, grace_s: float, child: subprocess.Popen[bytes] | None = None) -> None:
    """Stop a detached command that still runs (and everything it started): SIGTERM, SIGKILL after `grace_s`."""
    if not _running(pid, files, child):
        return
    _kill_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while _running(pid, files, child) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    _kill_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while _running(pid, files, child) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
