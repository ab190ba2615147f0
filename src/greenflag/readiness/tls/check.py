"""collect → grade → evaluate → CheckResult for one TLS server."""

from __future__ import annotations

import time

from greenflag.readiness.base import CheckResult, Finding, Severity, Status
from greenflag.readiness.target import TargetOptions
from greenflag.readiness.tls.collect import Unreachable, collect
from greenflag.readiness.tls.evaluate import evaluate
from greenflag.readiness.tls.grade import grade

__all__ = ["run"]


async def run(host: str, port: int, *, sni: str | None, options: TargetOptions, min_grade: str, min_days: float,
              budget_s: float) -> CheckResult:  # fmt: skip
    started = time.monotonic()
    target = f"{host}:{port}"
    try:
        facts = await collect(host, port, sni=sni, options=options, budget_s=budget_s)
    except Unreachable as exc:
        return CheckResult("tls", target, Status.ERROR, (Finding("tls.unreachable", Severity.HIGH,
                           f"cannot connect: {exc}"),), duration_s=time.monotonic() - started)  # fmt: skip
    if not facts.offered_protocols:
        return CheckResult("tls", target, Status.FAIL, (Finding("tls.no_tls", Severity.CRITICAL,
                           "the server accepts connections but answers no TLS or SSL hello"),),
                           evidence=facts.to_json(), duration_s=time.monotonic() - started)  # fmt: skip
    graded = grade(facts)
    status, findings = evaluate(facts, graded, min_grade=min_grade, min_days=min_days)
    evidence = {"rating": graded.to_json(), **facts.to_json()}
    return CheckResult("tls", target, status, tuple(findings), graded.grade, float(graded.score), evidence,
                       time.monotonic() - started)  # fmt: skip
