"""docs/reports.md held to the code: the JUnit table names the class names the cases use (the docs suite,
tests/docs, runs the page's commands and compares its series line key by key)."""

from __future__ import annotations

import json
from pathlib import Path

from greenflag.report.junit_cases import load_cases, rollout_cases

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "reports.md").read_text()
DATA = Path(__file__).with_name("data") / "release"


def test_the_junit_table_names_the_class_names() -> None:
    summary = json.loads((DATA / "summary.json").read_text())
    status = json.loads((DATA / "status.json").read_text())
    classes = {case.classname.replace(".shop", ".SERVICE") for case in load_cases(summary) + rollout_cases(status)}
    for name in classes:
        assert f"`{name}`" in DOC, name
