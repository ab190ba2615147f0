"""Every page of the documentation runs: README.md and docs/*.md, each in its own sandbox with its own servers on
ephemeral ports (tests/docs/runner.py; the rules are in docs/contributing-docs.md). A page added later is
collected here too: a block the harness cannot classify fails its page. The pages run side by side
(tests/docs/jobs.py); each test reports its own."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from tests.docs.jobs import PAGES


@pytest.mark.parametrize("page", PAGES)
def test_page_runs(page: str, docs_results: dict[str, Future[str | None]]) -> None:
    failure = docs_results[f"page:{page}"].result()
    if failure is not None:
        pytest.fail(failure, pytrace=False)
