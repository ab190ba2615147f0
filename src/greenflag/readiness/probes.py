"""Health endpoints and the user's own `exec`/`http` checks in the checklist. HTTP goes through greenflag's health
probe; a command runs in its own process group, killed (with everything it started) when it overruns its timeout
or the checklist is cancelled, so no check leaves a process behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Sequence

from greenflag.health.base import Probe
from greenflag.health.probes import HttpProbe
from greenflag.readiness.base import CheckResult, Finding, Severity, Status

__all__ = ["check_exec", "check_http"]


async def _run(kind: str, label: str, probe: Probe, target: str) -> CheckResult:
    result = await probe.check(target)
    evidence = {"latency_ms": round(result.latency_s * 1000, 1), "detail": result.detail}
    if result.ok:
        return CheckResult(kind, label, Status.PASS, evidence=evidence, duration_s=result.latency_s)
    finding = Finding(f"{kind}.failed", Severity.HIGH, result.detail)
    return CheckResult(kind, label, Status.FAIL, (finding,), evidence=evidence, duration_s=result.latency_s)


async def check_http(
    url: str,
    *,
    kind: str = "health",
    label: str | None = None,
    expect_status: Sequence[int] = tuple(range(200, 400)),
    body_contains: str | None = None,
    json_field: str | None = None,
    max_latency: float | None = None,
    timeout: float = 10.0,
) -> CheckResult:
    """GET url (redirects not followed): passes with an expected status, body and latency."""
    probe = HttpProbe(expect_status=expect_status, body_contains=body_contains, json_field=json_field,
                      max_latency=max_latency, timeout=timeout)  # fmt: skip
    return await _run(kind, label or url, probe, url)


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def run_command(command: Sequence[str], timeout: float) -> tuple[int | None, bytes, bytes]:
    """Run argv (no shell) in a new process group; (None, ...) when it overran `timeout` and was killed.
    Cancellation kills the group too, then propagates."""
    proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
                                                start_new_session=True)  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        _kill_group(proc)
        await proc.wait()
        return None, b"", b""
    except asyncio.CancelledError:
        _kill_group(proc)
        await asyncio.shield(proc.wait())
        raise
    return proc.returncode, out, err


async def check_exec(command: Sequence[str], *, label: str, kind: str = "check", timeout: float = 30.0) -> CheckResult:
    """Run the command (no shell); passes when it exits 0 within the timeout. Overrunning it is an ERROR (the
    check could not say), a non-zero exit a FAIL with the last line it printed."""
    start = time.monotonic()
    try:
        code, out, err = await run_command(command, timeout)
    except OSError as exc:
        finding = Finding(f"{kind}.not_started", Severity.HIGH, f"{command[0]}: {exc.strerror or exc}")
        return CheckResult(kind, label, Status.ERROR, (finding,), duration_s=time.monotonic() - start)
    elapsed = time.monotonic() - start
    if code is None:
        finding = Finding(f"{kind}.timeout", Severity.HIGH, f"{command[0]} did not finish within {timeout:g} s.")
        return CheckResult(kind, label, Status.ERROR, (finding,), duration_s=elapsed)
    lines = (out + b"\n" + err).decode(errors="replace").strip().splitlines()
    detail = f"exec {command[0]}: exit {code}" + (f": {lines[-1][:200]}" if lines else "")
    evidence = {"exit_code": code, "detail": detail}
    if code == 0:
        return CheckResult(kind, label, Status.PASS, evidence=evidence, duration_s=elapsed)
    finding = Finding(f"{kind}.failed", Severity.HIGH, detail)
    return CheckResult(kind, label, Status.FAIL, (finding,), evidence=evidence, duration_s=elapsed)
