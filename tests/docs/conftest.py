"""The docs jobs selected in this session start together (tests/docs/jobs.py); each test waits for its own."""

from __future__ import annotations

from concurrent.futures import Future
from functools import partial

import pytest

from tests.docs.jobs import expected_cost, help_job, page_job, run_jobs


@pytest.fixture(scope="session")
def docs_results(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Future[str | None]]:
    jobs = {}
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "page" in params:
            key = f"page:{params['page']}"
            jobs[key] = partial(page_job, params["page"], tmp_path_factory.mktemp("page"))
        elif "help_module" in params:
            key = f"help:{params['help_module']}"
            jobs[key] = partial(help_job, params["help_module"], tmp_path_factory.mktemp("help"))
    return run_jobs(dict(sorted(jobs.items(), key=lambda kv: -expected_cost(kv[0]))))
