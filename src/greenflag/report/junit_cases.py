"""JUnit test cases from greenflag results: one per load threshold expression, and for a rollout one per health
gate, step, analysis metric and hook, plus the rollout itself. A rollback fails the rollout's case, the step it
happened in and the gate or analysis that triggered it, each with the trigger's metric, value and limit.
Pure: summaries and statuses in (the `--summary-json` and `rollout status --json` documents), cases out;
`greenflag.report.junit.write_junit` writes them."""

from __future__ import annotations

from typing import Any

from greenflag.report.junit import JUnitCase
from greenflag.report.model import analysis_rows, step_rows

__all__ = ["load_cases", "rollout_cases"]
__pure__ = True

_READINESS_TRIGGERS = ("readiness", "launch")
_LIVENESS_TRIGGERS = ("liveness", "instances")


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "no data" if value is None else str(value)


def load_cases(summary: dict[str, Any]) -> list[JUnitCase]:
    """One case per threshold expression (`http_req_duration: p(95)<2000`); failed when crossed."""
    cases = []
    for metric, entries in (summary.get("thresholds") or {}).items():
        for entry in entries:
            name = f"{metric}: {entry.get('expr', '')}"
            ok = bool(entry.get("ok"))
            value = _value(entry.get("value"))
            cases.append(
                JUnitCase(
                    name=name,
                    classname="greenflag.load.thresholds",
                    ok=ok,
                    message="" if ok else f"threshold crossed: {name} (value {value})",
                    details=f"metric {metric}\nthreshold {entry.get('expr', '')}\nvalue {value}",
                    output=f"value {value}",
                )
            )
    if summary.get("aborted"):
        cases.append(
            JUnitCase("run completed", "greenflag.load", ok=False, message=f"stopped early: {summary['aborted']}")
        )
    return cases


def _rollback(status: dict[str, Any]) -> dict[str, Any] | None:
    return next((e for e in reversed(status.get("events", [])) if e.get("kind") == "rollback"), None)


def _trigger_text(event: dict[str, Any]) -> str:
    return f"trigger {event.get('trigger')}: value {_value(event.get('value'))}, limit {event.get('limit') or '-'}"


def _checklist_case(status: dict[str, Any], cls: str, rollback: dict[str, Any] | None) -> list[JUnitCase]:
    """The readiness checklist of a rollout (`readiness.required_before: promote`), when it ran."""
    checklist = (status.get("data_steps") or {}).get("readiness")
    if checklist is None:
        return []
    outcome, detail = checklist.get("outcome"), str(checklist.get("detail") or "")
    name, group = f"{status.get('version')} readiness checklist", f"{cls}.readiness"
    if outcome == "ok":
        return [JUnitCase(name, group, output=detail)]
    if outcome == "started":
        return [JUnitCase(name, group, outcome="skipped", message=f"not finished ({status.get('phase')})")]
    if rollback is not None and rollback.get("trigger") == "readiness checklist":
        return [JUnitCase(name, group, ok=False, message=str(rollback.get("message")), details=_trigger_text(rollback))]
    return [JUnitCase(name, group, ok=False, message=f"{outcome}: {detail}", details=detail)]


def rollout_cases(status: dict[str, Any]) -> list[JUnitCase]:
    """Cases for one rollout (a `rollout status --json` document)."""
    if not status or status.get("phase") is None:
        return []
    events = status.get("events", [])
    kinds = {e.get("kind") for e in events}
    rollback = _rollback(status)
    trigger = str(rollback.get("trigger")) if rollback else ""
    why = "" if rollback is None else f"{rollback.get('message')} ({_trigger_text(rollback)})"
    details = "" if rollback is None else _trigger_text(rollback)
    cls = f"greenflag.rollout.{status.get('service')}"
    version = status.get("version")
    cases = []

    def failed(name: str, group: str) -> JUnitCase:
        return JUnitCase(name, f"{cls}.{group}", ok=False, message=why, details=details)

    # health gates
    if rollback is not None and trigger in _READINESS_TRIGGERS:
        cases.append(failed(f"{version} readiness gate", "health"))
    elif "ready" in kinds:
        cases.append(JUnitCase(f"{version} readiness gate", f"{cls}.health", output="passed its readiness gate"))
    if rollback is not None and trigger in _LIVENESS_TRIGGERS:
        cases.append(failed(f"{version} liveness gate", "health"))
    elif "ready" in kinds:
        cases.append(JUnitCase(f"{version} liveness gate", f"{cls}.health", output="no liveness failure"))
    # steps
    for row in step_rows(events, status):
        name = f"step {row['step']}: {row['what'] or 'step'}"
        if row["outcome"] == "rolled back":
            cases.append(failed(name, "steps"))
        elif row["outcome"] is None and status.get("phase") not in ("Healthy",):
            cases.append(
                JUnitCase(name, f"{cls}.steps", outcome="skipped", message=f"not finished ({status.get('phase')})")
            )
        else:
            cases.append(JUnitCase(name, f"{cls}.steps", output="; ".join(row["notes"])))
    # analysis
    for row in analysis_rows(status):
        name = f"analysis {row['run']}: {row['metric']}"
        bad = row["verdict"] in ("Failed", "Error") or (rollback is not None and trigger == row["metric"])
        counts = (
            f"{row['measured']} measurements: {row['successful']} successful, {row['failed']} failed, "
            f"{row['inconclusive']} inconclusive, {row['errors']} errors"
        )
        if bad:
            cases.append(
                JUnitCase(name, f"{cls}.analysis", ok=False, message=why or str(row["message"]),
                          details=f"{details}\n{counts}\nlast: {row['message']}".strip())
            )  # fmt: skip
        else:
            cases.append(JUnitCase(name, f"{cls}.analysis", output=f"{counts}; last: {row['message']}"))
    # hooks
    for key, hook in (status.get("hooks") or {}).items():
        ok = hook.get("outcome") in ("ok", "started")
        detail = str(hook.get("detail") or "")
        cases.append(
            JUnitCase(
                f"hook {key}", f"{cls}.hooks", ok=ok, message="" if ok else f"hook {key}: {detail}", output=detail
            )
        )
    cases += _checklist_case(status, cls, rollback)
    # the rollout itself
    phase = status.get("phase")
    name = f"rollout of {version}"
    if phase == "RolledBack" or status.get("aborted"):
        cases.append(JUnitCase(name, cls, ok=False, message=why or f"rolled back: {status.get('abort_reason')}",
                               details=details))  # fmt: skip
    elif phase == "Healthy":
        cases.append(JUnitCase(name, cls, output=f"promoted; stable is {status.get('stable')}"))
    else:
        cases.append(JUnitCase(name, cls, outcome="skipped", message=f"not finished (phase {phase})"))
    return cases
