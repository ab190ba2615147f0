"""The readiness checklist's report (pure): the JSON document and the JUnit cases. A required check that failed
is a JUnit failure, one that could not run an error; an optional check that did not pass is reported as skipped,
with why."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from greenflag.readiness.base import CheckResult, Status
from greenflag.report.junit import JUnitCase, Outcome

__all__ = ["checklist_json", "junit_cases", "summary_line"]

__pure__ = True


def checklist_json(results: list[CheckResult], *, required_before: str | None = None) -> dict[str, Any]:
    counts = Counter(str(r.status) for r in results)
    findings = [{"check": r.name, "target": r.target, **f.to_json()} for r in results for f in r.findings]
    return {
        "ok": all(r.ok for r in results if r.required),
        "required_before": required_before,
        "summary": {status: counts.get(status, 0) for status in ("pass", "warn", "fail", "error", "skip")},
        "checks": [{**r.to_json(), "required": r.required} for r in results],
        "findings": findings,
    }


def _details(result: CheckResult) -> str:
    return "\n".join(f"[{f.severity}] {f.id}: {f.message}" for f in result.findings)


def junit_cases(results: list[CheckResult]) -> list[JUnitCase]:
    cases = []
    for result in results:
        first = result.findings[0].message if result.findings else str(result.status)
        output = json.dumps({k: v for k, v in (("grade", result.grade), ("score", result.score)) if v is not None})
        outcome: Outcome
        if result.ok:
            outcome, message = "passed", ""
        elif not result.required:
            outcome, message = "skipped", f"not required; {result.status}: {first}"
        else:
            outcome, message = ("error" if result.status is Status.ERROR else "failed"), first
        cases.append(
            JUnitCase(
                f"{result.name} {result.target}",
                f"greenflag.readiness.{result.name}",
                ok=result.ok,
                message=message,
                details=_details(result),
                time_s=result.duration_s,
                outcome=outcome,
                output=output if output != "{}" else "",
            )
        )
    return cases


def summary_line(results: list[CheckResult]) -> str:
    counts = Counter(str(r.status) for r in results)
    ok = all(r.ok for r in results if r.required)
    parts = ", ".join(f"{counts[s]} {s}" for s in ("pass", "warn", "fail", "error", "skip") if counts.get(s))
    return f"{'ready' if ok else 'NOT READY'}: {len(results)} checks ({parts})"
