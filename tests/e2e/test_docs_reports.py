"""docs/reports.md: its `sh` examples run as written, in order (the demo-app on a free port instead of 8080, the
one change made to them), and what they write is what the page says; the line-schema table names exactly the
keys a series line has; the JUnit table names the class names the cases use."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from greenflag.report.junit_cases import load_cases, rollout_cases
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "reports.md").read_text()
FENCES = [(t.info, t.content) for t in MarkdownIt().parse(DOC) if t.type == "fence"]
DATA = Path(__file__).with_name("data") / "release"


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("docs")
    blocks = [body for info, body in FENCES if info == "sh"]
    assert len(blocks) == 2
    port = str(free_port())
    script = "\n".join(blocks).replace("8080", port)
    prelude = f"set -euo pipefail\ngreenflag() {{ {sys.executable} -m greenflag \"$@\"; }}\ntrap 'kill %1' EXIT\n"
    result = subprocess.run(["bash", "-c", prelude + script], cwd=tmp, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp / "out"


def test_the_examples_write_what_the_page_says(ran: Path) -> None:
    for name in ("load.html", "report.html", "merged.html"):
        assert "<svg" not in (ran / name).read_text()  # drawn by the embedded script when opened
        assert 'id="gf-data"' in (ran / name).read_text()
    suite = ET.parse(ran / "load.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2"
    a = [json.loads(line) for line in (ran / "a.jsonl").read_text().splitlines()]
    b = [json.loads(line) for line in (ran / "b.jsonl").read_text().splitlines()]
    merged = json.loads(re.search(r'id="gf-data">(.*?)</script>', (ran / "merged.html").read_text()).group(1))  # type: ignore[union-attr]
    names = {row["name"] for row in merged["load"]["by_name"]}
    assert len(names) == 2 and merged["load"]["headline"]["requests"] == sum(x["http_reqs"] for x in a + b)
    assert merged["title"] == "two generators"


def test_the_line_table_names_every_key(ran: Path) -> None:
    section = DOC.split("One line per interval, with these keys:")[1].split("A histogram is")[0]
    documented = set(re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)?(?:, `([a-z_]+)`)?", section, re.M))
    keys = {key for row in documented for key in row if key}
    lines = [json.loads(line) for line in (ran / "series.jsonl").read_text().splitlines()]
    seen = {key for line in lines for key in line}
    assert keys == seen | {"covered_s"}


def test_the_junit_table_names_the_class_names() -> None:
    summary = json.loads((DATA / "summary.json").read_text())
    status = json.loads((DATA / "status.json").read_text())
    classes = {case.classname.replace(".shop", ".SERVICE") for case in load_cases(summary) + rollout_cases(status)}
    for name in classes:
        assert f"`{name}`" in DOC, name
