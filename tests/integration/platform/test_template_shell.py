"""A real `sh` runs the scripts the template makes: the value arrives exactly, and none of it runs as code, wherever
the placeholder stands in the script (unquoted, in double quotes, in single quotes, inside `$(…)`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from greenflag.platform.template import command_argv, command_env

VALUE = "$(touch pwned) `touch pwned2`;x|y&&z"


@pytest.mark.parametrize(
    "script",
    ["printf '%s\\n' '{instance}'", "printf '%s\\n' \"{instance}\"", "printf '%s\\n' \"$(printf '%s' '{instance}')\"",
     "printf '%s\\n' 'id={instance}'"],
    ids=["single quotes", "double quotes", "single inside $()", "inside a word"],
)  # fmt: skip
def test_the_shell_gets_the_value_exactly_and_runs_none_of_it(tmp_path: Path, script: str) -> None:
    argv = command_argv(["sh", "-c", script], {"instance": VALUE})
    env = {**os.environ, **command_env({"instance": VALUE})}
    out = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, check=True, timeout=10).stdout
    expected = ("id=" if "id=" in script else "") + VALUE
    assert out == expected + "\n"
    assert list(tmp_path.iterdir()) == [], "nothing ran"
