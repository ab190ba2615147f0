"""The rollout package's pure modules import no I/O module directly (tests/unit/test_architecture.py follows
their imports further)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import greenflag.rollout as rollout_pkg

PURE = ["model.py", "actions.py", "phases.py", "presets.py", "plan.py", "steps.py", "runs.py", "validate.py"]
PURE += ["checklist.py"]
FORBIDDEN = {"asyncio", "socket", "time", "aiohttp", "sqlite3", "subprocess", "os", "httpx", "ssl"}


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_do_no_io(module: str) -> None:
    path = Path(rollout_pkg.__file__).parent / module
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN
