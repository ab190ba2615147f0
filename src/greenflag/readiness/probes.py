"""Health endpoints and the user's own `exec`/`http` checks in the checklist, run with greenflag's health probes."""

from __future__ import annotations

from collections.abc import Sequence

from greenflag.health.base import Probe
from greenflag.health.probes import ExecProbe, HttpProbe
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


async def check_exec(command: Sequence[str], *, label: str, kind: str = "check", timeout: float = 30.0) -> CheckResult:
    """Run the command (no shell); passes when it exits 0 within the timeout."""
    return await _run(kind, label, ExecProbe(command, timeout=timeout), "")
