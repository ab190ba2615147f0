"""The import graph of a Python package, read with `ast` (nothing is imported), and the house rules over it.

`ImportGraph.read(src_dir, package)` records every import of every module with where it happens:
- `top`: runs when the module is imported (module level, class bodies, try/except and if/else at module level);
- `deferred`: inside a function (runs when called), or a registry string such as "pkg.mod:factory";
- `typing`: under `if TYPE_CHECKING:` (never runs; allowed to close cycles, counted).

The rules (each returns violations, one line each, naming the import and the rule):
- `layer_violations`: a module imports only from its own layer or below (any kind of import);
- `purity_violations`: a module marked `__pure__ = True` reaches no I/O module, through everything it imports
  at run time, followed through the package's own modules (the chain is named);
- `cycles`: no cycle of run-time imports (`top` and `deferred`) between the package's modules.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Import", "ImportGraph", "Rules", "cycles", "layer_violations", "purity_violations"]

_REGISTRY_STRING = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+):[A-Za-z_]\w*$")
RUNTIME = ("top", "deferred")


@dataclass(frozen=True)
class Import:
    source: str  # importing module (dotted)
    target: str  # imported module: one of the package's modules, or an outside module's top-level name
    kind: str  # "top" | "deferred" | "typing"
    line: int
    internal: bool

    def where(self) -> str:
        return f"{self.source} → {self.target} (line {self.line}, {self.kind})"


@dataclass
class ImportGraph:
    package: str
    modules: dict[str, Path] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)
    pure: set[str] = field(default_factory=set)
    _seen: set[Import] = field(default_factory=set, repr=False)

    @classmethod
    def read(cls, src_dir: Path, package: str) -> ImportGraph:
        graph = cls(package)
        for path in sorted((src_dir / package).rglob("*.py")):
            parts = path.relative_to(src_dir).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            graph.modules[name] = path
        for name, path in graph.modules.items():
            graph._read_module(name, path)
        return graph

    def _resolve(self, dotted: str) -> str:
        """The package's module that `dotted` names (its longest existing prefix)."""
        while dotted and dotted not in self.modules:
            dotted = dotted.rpartition(".")[0]
        return dotted

    def _add(self, source: str, target: str, kind: str, line: int) -> None:
        if target == self.package or target.startswith(self.package + "."):
            resolved = self._resolve(target)
            found = Import(source, resolved, kind, line, True) if resolved and resolved != source else None
        else:
            found = Import(source, target.split(".")[0], kind, line, False)
        if found is not None and found not in self._seen:  # `from m import a, b` is one import of m
            self._seen.add(found)
            self.imports.append(found)

    def _read_module(self, name: str, path: Path) -> None:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__pure__" for t in node.targets)
                and isinstance(node.value, ast.Constant)
                and node.value.value is True
            ):
                self.pure.add(name)
        self._visit(name, is_package, tree, "top")

    def _visit(self, name: str, is_package: bool, node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.body:
                    self._visit_one(name, is_package, sub, "typing")
                for sub in child.orelse:
                    self._visit_one(name, is_package, sub, kind)
                continue
            self._visit_one(name, is_package, child, kind)

    def _visit_one(self, name: str, is_package: bool, node: ast.AST, kind: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and kind == "top":
            kind = "deferred"
        if isinstance(node, ast.Import):
            for alias in node.names:
                self._add(name, alias.name, kind, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                full = f"{base}.{alias.name}"
                self._add(name, full if full in self.modules else base, kind, node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found = _REGISTRY_STRING.match(node.value)
            if found and found.group(1).startswith(self.package + "."):
                self._add(name, found.group(1), "deferred" if kind == "top" else kind, node.lineno)
        self._visit(name, is_package, node, kind)

    def of(self, source: str, kinds: Sequence[str] = RUNTIME) -> list[Import]:
        return [i for i in self.imports if i.source == source and i.kind in kinds]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


@dataclass(frozen=True)
class Rules:
    """Layers are lists of names relative to the package ("" is the package itself), lowest first. `sublayers`
    orders the subpackages of one package the same way. `allowed` maps an exempted (source, target) import,
    relative names, to the reason. `forbidden`: outside modules a pure module must not reach."""

    layers: Sequence[Sequence[str]]
    sublayers: Mapping[str, Sequence[Sequence[str]]]
    forbidden: frozenset[str]
    allowed: Mapping[tuple[str, str], str]


def _relative(graph: ImportGraph, module: str) -> str:
    return "" if module == graph.package else module.removeprefix(graph.package + ".")


def _rank(table: Sequence[Sequence[str]], name: str) -> tuple[int, str] | None:
    """(layer index, the table entry) of the longest entry that is `name` or a package holding it."""
    best: tuple[int, str] | None = None
    for index, layer in enumerate(table):
        for entry in layer:
            if (name == entry or (entry and name.startswith(entry + "."))) and (
                best is None or len(entry) > len(best[1])
            ):
                best = (index, entry)
    return best


def _allowed(graph: ImportGraph, rules: Rules, imp: Import) -> bool:
    return (_relative(graph, imp.source), _relative(graph, imp.target)) in rules.allowed


def layer_violations(graph: ImportGraph, rules: Rules) -> list[str]:
    out: list[str] = []
    for name in graph.modules:
        if _rank(rules.layers, _relative(graph, name)) is None:
            out.append(f"layer: {name} is in no layer: add its package to the layer table")
    for imp in graph.imports:
        if not imp.internal or _allowed(graph, rules, imp):
            continue
        src, dst = _relative(graph, imp.source), _relative(graph, imp.target)
        s, d = _rank(rules.layers, src), _rank(rules.layers, dst)
        if s is None or d is None:
            continue
        if d[0] > s[0]:
            out.append(
                f"layer: {imp.where()}: {s[1] or graph.package} (layer {s[0]}) may not import "
                f"{d[1]} (layer {d[0]}): lower layers never import upper ones"
            )
            continue
        for package, table in rules.sublayers.items():
            inside = [n for n in (src, dst) if n.startswith(package + ".")]
            if len(inside) < 2:
                continue
            ss, dd = _rank(table, src), _rank(table, dst)
            if ss is None or dd is None:
                missing = src if ss is None else dst
                out.append(f"layer: {graph.package}.{missing} is in none of {package}'s sub-layers")
            elif dd[0] > ss[0]:
                out.append(
                    f"layer: {imp.where()}: {ss[1]} may not import {dd[1]}: inside {package}, "
                    f"{' < '.join('/'.join(layer) for layer in table)}"
                )
    return sorted(set(out))


def _parents(graph: ImportGraph, module: str) -> Iterable[str]:
    """The packages Python imports before `module` (their __init__ runs first)."""
    parts = module.split(".")
    for n in range(1, len(parts)):
        parent = ".".join(parts[:n])
        if parent in graph.modules:
            yield parent


def purity_violations(graph: ImportGraph, rules: Rules) -> list[str]:
    out: list[str] = []
    for pure in sorted(graph.pure):
        chain: dict[str, str | None] = {pure: None}  # module → the module that imported it
        # A module reached only as a parent package runs its module-level code, not its functions: follow only
        # its top-level imports. Every module the pure one (transitively) imports is followed through all of them.
        queue: list[tuple[str, bool]] = [(pure, False)]
        seen = {(pure, False)}
        while queue:
            module, as_parent = queue.pop(0)
            kinds = ("top",) if as_parent else RUNTIME
            steps: list[tuple[str, Import | None, bool]] = [
                (i.target, i, False) for i in graph.of(module, kinds) if not _allowed(graph, rules, i)
            ]
            steps += [(p, None, True) for p in _parents(graph, module)]
            for target, imp, parent in steps:
                if imp is not None and not imp.internal:
                    if target in rules.forbidden:
                        path = [module]
                        while (importer := chain[path[-1]]) is not None:
                            path.append(importer)
                        through = " → ".join(reversed(path))
                        out.append(
                            f"pure: {pure} reaches {target} through {through} → {target} (line {imp.line}): "
                            f"a module marked __pure__ imports no I/O, directly or through what it imports"
                        )
                    continue
                if (target, parent) not in seen and (target, False) not in seen:
                    seen.add((target, parent))
                    chain.setdefault(target, module)
                    queue.append((target, parent))
    return sorted(set(out))


def cycles(graph: ImportGraph, rules: Rules, kinds: Sequence[str] = RUNTIME) -> list[str]:
    """Each cycle of imports of `kinds` between the package's modules, once (Tarjan's strongly connected sets)."""
    edges: dict[str, list[Import]] = {m: [] for m in graph.modules}
    for imp in graph.imports:
        if imp.internal and imp.kind in kinds and not _allowed(graph, rules, imp):
            edges[imp.source].append(imp)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(v: str) -> None:  # recursion depth is bounded by the number of modules
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for imp in edges[v]:
            w = imp.target
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in graph.modules:
        if module not in index:
            connect(module)
    out = []
    for group in groups:
        members = set(group)
        links = [i.where() for m in group for i in edges[m] if i.target in members]
        out.append(f"cycle: {' ↔ '.join(group)}: {'; '.join(links)}: modules may not import each other at run time")
    return sorted(out)
