"""House rules that code review would otherwise have to catch: the functional core stays free of I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "greenflag"

# Decision logic: pure functions of data and injected time (DESIGN.md §2, "functional core, imperative shell").
PURE_MODULES = [
    "load/schedules.py",
    "load/thresholds.py",
    "load/options.py",
    "load/snapshot.py",
    "analysis/conditions.py",
    "analysis/verdicts.py",
    "analysis/compare.py",
    "rollout/steps.py",
    "rollout/phases.py",
    "rollout/presets.py",
    "rollout/runs.py",
    "rollout/actions.py",
    "health/gate.py",
    "units.py",
    "readiness/urltext.py",
    "readiness/grades.py",
    "readiness/waf/plan.py",
    "readiness/waf/score.py",
    "readiness/waf/evaluate.py",
    "readiness/headers/csp.py",
    "readiness/headers/facts.py",
    "readiness/headers/rules.py",
    "readiness/headers/grade.py",
    "readiness/monitoring_eval.py",
    "readiness/backups_eval.py",
    "readiness/checklist_report.py",
]
FORBIDDEN = {
    "asyncio", "socket", "ssl", "time", "subprocess", "threading", "os", "httptools", "uvloop", "aiohttp",
    "urllib", "http", "sqlite3", "boto3", "requests", "random", "signal", "select",
}  # fmt: skip


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_do_no_io(module: str) -> None:
    path = SRC / module
    assert path.exists(), f"{module} moved: update PURE_MODULES"
    assert imported_roots(path) & FORBIDDEN == set()


def test_no_module_level_side_effects_on_import() -> None:
    """Importing every module must not start servers, threads or event loops (no import-time side effects)."""
    import importlib
    import threading

    before = threading.active_count()
    for path in sorted(SRC.rglob("*.py")):
        name = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        if name.endswith("__main__"):
            continue
        importlib.import_module(name)
    assert threading.active_count() == before
