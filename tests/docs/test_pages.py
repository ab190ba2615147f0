"""Every page of the documentation runs: README.md and docs/*.md, each in its own sandbox with its own servers on
ephemeral ports (tests/docs/runner.py; the rules are in docs/contributing-docs.md). A page added later is
collected here too: a block the harness cannot classify fails its page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.collect import parse_page
from tests.docs.runner import ROOT, Sandbox, run_page

PAGES = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("name", PAGES)
def test_page_runs(name: str, tmp_path: Path) -> None:
    page = parse_page(name, (ROOT / name).read_text())
    failure = None
    try:
        run_page(page, Sandbox(tmp_path))
    except AssertionError as exc:
        failure = str(exc)
    if failure is not None:
        pytest.fail(failure, pytrace=False)
