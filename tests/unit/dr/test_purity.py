"""The drill package's house rules: scoring is pure all the way down, and dr stays below rollout, report and cli."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src"
DR = SRC / "greenflag" / "dr"
FORBIDDEN = {
    "asyncio", "socket", "ssl", "time", "subprocess", "threading", "os", "httptools", "uvloop", "aiohttp",
    "urllib", "http", "sqlite3", "boto3", "requests", "random", "signal", "select", "psycopg", "shutil",
    "tempfile", "pathlib", "io", "pwd", "glob",
}  # fmt: skip
UPPER_LAYERS = ("greenflag.rollout", "greenflag.cli", "greenflag.report", "greenflag.web", "greenflag.demo",
                "greenflag.readiness", "greenflag.data")  # fmt: skip


def _imports(path: Path) -> set[str]:
    """Every module imported anywhere in the file (functions included), except under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _file(module: str) -> Path | None:
    """The source of a greenflag module; None for names that are not modules (`from m import SomeClass`)."""
    if not module.startswith("greenflag"):
        return None
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return None
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def _closure(module: str) -> dict[str, set[str]]:
    """module → its imports, for `module` and every greenflag module it reaches."""
    seen: dict[str, set[str]] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = _file(name)
        if name in seen or path is None:
            continue
        seen[name] = _imports(path)
        todo += [n for n in seen[name] if n.startswith("greenflag.")]
    return seen


PURE = sorted(
    ".".join(p.relative_to(SRC).with_suffix("").parts) for p in DR.rglob("*.py") if "__pure__ = True" in p.read_text()
)


def test_the_scoring_modules_are_marked_pure() -> None:
    assert {"greenflag.dr.model", "greenflag.dr.score", "greenflag.dr.wal"} <= set(PURE)


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_io_even_transitively(module: str) -> None:
    for name, imports in _closure(module).items():
        roots = {i.split(".")[0] for i in imports}
        assert roots & FORBIDDEN == set(), f"{module} reaches {name}, which imports {roots & FORBIDDEN}"


@pytest.mark.parametrize("path", sorted(DR.rglob("*.py")), ids=lambda p: str(p.relative_to(DR)))
def test_dr_never_imports_an_upper_layer(path: Path) -> None:
    bad = {i for i in _imports(path) if i.startswith(UPPER_LAYERS)}
    assert bad == set(), f"{path.name} imports {bad}"
