"""Every `greenflag` command in the examples of a `--help` (the EPILOG strings of greenflag.cli's modules) runs,
with the docs harness's rules (docs/contributing-docs.md): one sandbox per command module, with the servers its
examples assume started first (jobs.SETUP), ports rewritten, long `--duration`s shortened. A command that starts
a server (`greenflag demo-app`, `router serve`, `up`) runs in the background until the module's examples are
done, as it would in a terminal of its own. A new module's examples are collected too (jobs.DEFAULT_SETUP);
jobs.SKIP lists the examples that do not run here, with the reason."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from tests.docs.jobs import SKIP, help_examples, help_modules


def test_every_command_module_has_help_examples_and_every_skip_is_one() -> None:
    assert [m for m in help_modules() if not help_examples(m)] == []
    examples = {e for m in help_modules() for e in help_examples(m)}
    assert set(SKIP) <= examples


@pytest.mark.parametrize("help_module", help_modules())
def test_help_examples_run(help_module: str, docs_results: dict[str, Future[str | None]]) -> None:
    failure = docs_results[f"help:{help_module}"].result()
    if failure is not None:
        pytest.fail(failure, pytrace=False)
