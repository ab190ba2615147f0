from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from greenflag.report.junit import JUnitCase, junit_xml, write_junit


def test_counts_and_children_follow_the_junit_schema() -> None:
    cases = [
        JUnitCase("p(95)<2000", "thresholds.http_req_duration", ok=True, time_s=1.5),
        JUnitCase("rate<0.01", "thresholds.http_req_failed", ok=False, message="rate=0.05", details="0.05 >= 0.01"),
        JUnitCase("tls", "readiness", outcome="error", message="connection refused"),
        JUnitCase("dns", "readiness", outcome="skipped", message="not configured"),
    ]
    root = ET.fromstring(junit_xml("suite", cases, timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)))
    assert root.tag == "testsuites"
    (suite,) = list(root)
    assert suite.attrib["tests"] == "4"
    assert (suite.attrib["failures"], suite.attrib["errors"], suite.attrib["skipped"]) == ("1", "1", "1")
    assert suite.attrib["timestamp"] == "2026-01-02T03:04:05"
    passed, failed, errored, skipped = list(suite)
    assert list(passed) == []
    assert failed[0].tag == "failure" and failed[0].attrib["message"] == "rate=0.05"
    assert failed[0].text == "0.05 >= 0.01"
    assert errored[0].tag == "error"
    assert skipped[0].tag == "skipped" and skipped[0].text is None


def test_text_with_markup_is_escaped(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "junit.xml"
    write_junit(path, "s", [JUnitCase("<a & b>", "c", ok=False, message='"x" < 1', output="]]> &")])
    case = ET.parse(path).getroot()[0][0]
    assert case.attrib["name"] == "<a & b>"
    assert case[0].attrib["message"] == '"x" < 1'
    assert case[1].text == "]]> &"
