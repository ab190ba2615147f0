"""Modules that declare `__pure__ = True` import no I/O, directly or through anything they import (their own
package `__init__` included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.unit.test_architecture import FORBIDDEN, SRC

IO_LIBRARIES = FORBIDDEN | {"dns", "OpenSSL", "aiohttp", "cryptography", "pathlib", "tempfile", "shutil"}


def module_path(name: str) -> Path | None:
    base = SRC.parent / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _module_level(tree: ast.Module) -> list[ast.stmt]:
    """Statements that run on import: the module body and the branches of its top-level if/try blocks (imports
    inside functions run only when called; `if TYPE_CHECKING:` blocks never run)."""
    out: list[ast.stmt] = []
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                todo += node.body + node.orelse
        elif isinstance(node, ast.Try):
            todo += node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        else:
            out.append(node)
    return out


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in _module_level(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def closure(name: str) -> tuple[set[str], set[str]]:
    """(greenflag modules reached, third-party/stdlib roots reached) from module `name`."""
    seen: set[str] = set()
    roots: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        parts = current.split(".")
        todo += [".".join(parts[:i]) for i in range(2, len(parts))]  # parent packages run first
        path = module_path(current)
        if path is None:
            continue
        for imported in imports(path):
            if imported.split(".")[0] == "greenflag":
                todo.append(imported)
            else:
                roots.add(imported.split(".")[0])
    return seen, roots


def marked() -> list[str]:
    out = []
    for path in sorted((SRC / "readiness").rglob("*.py")):
        if "__pure__ = True" in path.read_text():
            out.append(".".join(path.relative_to(SRC.parent).with_suffix("").parts))
    return out


def test_the_tls_and_dns_cores_are_marked() -> None:
    names = set(marked())
    assert {"greenflag.readiness.tls.grade", "greenflag.readiness.tls.evaluate", "greenflag.readiness.tls.hello",
            "greenflag.readiness.dns.evaluate"} <= names


@pytest.mark.parametrize("module", marked())
def test_pure_modules_reach_no_io(module: str) -> None:
    _, roots = closure(module)
    assert roots & IO_LIBRARIES == set(), module
