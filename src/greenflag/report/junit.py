"""JUnit XML, the test-report format CI systems show as test cases (Jenkins, GitLab, GitHub Actions reporters).

Every greenflag result that passes or fails (a load threshold, a readiness check, a drill objective, a rollout)
becomes one `JUnitCase`; a command writes one `<testsuite>` of them:

    write_junit(path, "greenflag load run", [JUnitCase("http_req_duration: p(95)<2000", "thresholds", ok=True)])

The element and attribute names follow the Ant/Jenkins JUnit schema that CI reporters read: `testsuites` >
`testsuite` (name, tests, failures, errors, skipped, time, timestamp) > `testcase` (name, classname, time) with at
most one `failure`, `error` or `skipped` child, and `system-out` for evidence.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

__all__ = ["JUnitCase", "junit_xml", "write_junit"]

Outcome = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class JUnitCase:
    name: str
    classname: str
    ok: bool = True
    message: str = ""  # why it failed (or was skipped): the failure element's message
    details: str = ""  # the failure element's text: the measured value, the limit, the evidence
    time_s: float = 0.0
    outcome: Outcome | None = None  # None: "passed" when ok, else "failed"
    output: str = ""  # system-out

    @property
    def result(self) -> Outcome:
        if self.outcome is not None:
            return self.outcome
        return "passed" if self.ok else "failed"


def junit_xml(suite: str, cases: list[JUnitCase], *, timestamp: datetime | None = None) -> str:
    """The JUnit document (one suite) as text."""
    stamp = (timestamp or datetime.now(UTC)).replace(microsecond=0)
    counts = {outcome: sum(1 for case in cases if case.result == outcome) for outcome in ("failed", "error", "skipped")}
    total_time = sum(case.time_s for case in cases)
    root = ET.Element(
        "testsuites",
        name=suite,
        tests=str(len(cases)),
        failures=str(counts["failed"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
        time=f"{total_time:.3f}",
    )
    element = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(counts["failed"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
        time=f"{total_time:.3f}",
        timestamp=stamp.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    for case in cases:
        node = ET.SubElement(element, "testcase", name=case.name, classname=case.classname, time=f"{case.time_s:.3f}")
        child = {"failed": "failure", "error": "error", "skipped": "skipped"}.get(case.result)
        if child is not None:
            sub = ET.SubElement(node, child, message=case.message)
            if child != "skipped":
                sub.set("type", child)
                sub.text = case.details or case.message
        if case.output:
            ET.SubElement(node, "system-out").text = case.output
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: str | Path, suite: str, cases: list[JUnitCase], *, timestamp: datetime | None = None) -> None:
    """Write the JUnit document to `path` (parent directories are created)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(junit_xml(suite, cases, timestamp=timestamp), encoding="utf-8")
