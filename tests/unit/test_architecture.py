"""The house rules that code review would otherwise have to catch, checked on greenflag's import graph.

- **Layers**: a module imports only from its own layer or the ones below (`LAYERS`, lowest first; inside `load`,
  `LOAD_LAYERS`). Every kind of import counts: module level, inside a function, a registry string
  ("greenflag.x.y:factory") and under `TYPE_CHECKING`.
- **Pure modules** (marked in the code with a module-level `__pure__ = True`) reach no I/O module (`IO_MODULES`)
  through anything they import at run time, followed through greenflag's own modules.
- **No import cycles** at run time (module level or inside functions). Imports under `TYPE_CHECKING` may close a
  cycle (the router's callback triangle does, on purpose); they are counted.
- **No import-time side effects**: importing every module starts no thread.

Each rule is shown to fail on planted violations: in small package trees written to a temporary directory, and in
a copy of greenflag itself with one line added.
"""

from __future__ import annotations

import importlib
import re
import shutil
import threading
from pathlib import Path

import pytest

from tests.architecture import ImportGraph, Rules, cycles, layer_violations, purity_violations

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"

# Lowest first. Names are relative to `greenflag` ("" is the package itself). Packages that other work is adding
# (readiness, dr, data, ops) have their place already.
LAYERS: list[list[str]] = [
    # the vocabulary: errors, units, the clock, the spec models and the file loader that fills them (`config`
    # needs only errors and spec; load's YAML flows use its line-numbered YAML reader). The package itself holds
    # `__version__` and re-exports the scenario API lazily (see ALLOWED).
    ["", "errors", "units", "clock", "spec", "config"],
    ["hdr", "health", "platform"],
    ["load", "traffic"],
    ["analysis"],
    ["rollout", "data", "dr", "readiness"],
    ["report", "web", "demo", "ops"],
    ["cli"],
    # fakes for the seams of every layer: above them all, so no production module can import them
    ["__main__", "testing"],
]
LOAD_LAYERS: list[list[str]] = [
    ["load.metrics"],
    ["load.http"],
    ["load.engine"],
    ["load.scenarios"],
    ["load.run"],
]
IO_MODULES = frozenset(
    {
        "asyncio", "socket", "ssl", "time", "subprocess", "threading", "multiprocessing", "concurrent", "os",
        "shutil", "tempfile", "signal", "select", "selectors", "socketserver", "random", "secrets", "uuid",
        "sqlite3", "urllib", "http", "ftplib", "smtplib", "httptools", "uvloop", "aiohttp", "requests", "httpx",
        "boto3", "botocore", "kubernetes", "ray", "psycopg", "psycopg2", "asyncpg", "prometheus_client", "dns",
        "OpenSSL",
    }
)  # fmt: skip
ALLOWED = {
    ("", "load.scenarios.user"): "`from greenflag import User, task`: the public scenario API, re-exported lazily",
}
RULES = Rules(layers=LAYERS, sublayers={"load": LOAD_LAYERS}, forbidden=IO_MODULES, allowed=ALLOWED)

# The functional core (DESIGN's decisions): these must stay marked pure, so a marker cannot quietly go.
CORE = [
    "analysis.builtin", "analysis.compare", "analysis.conditions", "analysis.defaults", "analysis.recording",
    "analysis.replay", "analysis.sizing", "analysis.verdicts", "hdr", "health.gate",
    "load.engine.options", "load.engine.schedules", "load.metrics.snapshot", "load.metrics.thresholds",
    "load.scenarios.flows", "platform.template", "platform.slotplan", "platform.command_output",
    "platform.kubernetes_objects", "rollout.actions", "rollout.context", "rollout.datastages", "rollout.judge",
    "rollout.launch", "rollout.model", "rollout.phases", "rollout.plan", "rollout.presets", "rollout.runs",
    "rollout.steps", "rollout.validate", "units", "readiness.base", "readiness.dns.evaluate",
    "readiness.tls.evaluate", "readiness.tls.grade", "traffic.embedded.policy", "dr.model", "dr.score", "dr.wal",
    "traffic.alb_actions", "traffic.kubernetes_objects", "analysis.alarms", "rollout.drain",
]  # fmt: skip
CORE += ["rollout.checklist", "dr.sqlite.walframes"]


def check(src: Path, package: str = "greenflag") -> tuple[ImportGraph, list[str]]:
    graph = ImportGraph.read(src, package)
    return graph, layer_violations(graph, RULES) + purity_violations(graph, RULES) + cycles(graph, RULES)


@pytest.fixture(scope="module")
def real() -> ImportGraph:
    return ImportGraph.read(SRC, "greenflag")


def test_the_tree_keeps_the_layers(real: ImportGraph) -> None:
    problems = layer_violations(real, RULES)
    assert not problems, "\n".join(problems)


def test_pure_modules_reach_no_io(real: ImportGraph) -> None:
    problems = purity_violations(real, RULES)
    assert not problems, "\n".join(problems)


def test_no_import_cycles_at_run_time(real: ImportGraph) -> None:
    problems = cycles(real, RULES)
    assert not problems, "\n".join(problems)


def test_the_core_is_marked_pure(real: ImportGraph) -> None:
    assert sorted(f"greenflag.{m}" for m in CORE if f"greenflag.{m}" not in real.pure) == []


def test_type_checking_imports_are_allowed_and_counted(real: ImportGraph) -> None:
    typing_only = [i for i in real.imports if i.internal and i.kind == "typing"]
    closing = cycles(real, RULES, kinds=("top", "deferred", "typing"))
    print(f"{len(typing_only)} TYPE_CHECKING imports; {len(closing)} cycle(s) closed only by them")
    assert typing_only  # the router's callback triangle is typed this way on purpose
    assert any("greenflag.traffic.embedded.client" in c and "greenflag.traffic.embedded.core" in c for c in closing)


NOT_YET = ("web/", "readiness/", "dr/", "data/", "ops/")  # places in the table for packages still to come


def test_the_architecture_page_shows_this_table_and_names_real_files() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("```text\n", 1)[1].split("```", 1)[0]
    assert [line.split() for line in block.strip().splitlines()] == [[n for n in layer if n] for layer in LAYERS[::-1]]
    named = set(re.findall(r"`((?:[a-z_]+/)+(?:[a-z_]+\.py)?)`", text))
    assert len(named) > 30
    missing = [
        p
        for p in named
        if not p.startswith(NOT_YET) and not (SRC / "greenflag" / p).exists() and not (ROOT / p).exists()
    ]
    assert missing == []


# -- the rules fail where they should -----------------------------------------------------------------------------


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """A package tree under root/src from {relative path: source}; every directory gets an __init__.py."""
    src = root / "src"
    for rel, text in files.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in [path.parent, *path.parent.parents]:
            if parent == src:
                break
            (parent / "__init__.py").touch()
        path.write_text(text)
    return src


def test_a_pure_module_reaching_io_through_another_module_fails(tmp_path: Path) -> None:
    src = write_tree(
        tmp_path,
        {
            "greenflag/rollout/steps.py": "from greenflag.rollout.runs import record\n__pure__ = True\n",
            "greenflag/rollout/runs.py": "from greenflag.analysis.session import builtin_metrics\n",
            "greenflag/analysis/session.py": "import json\n\n\ndef builtin_metrics():\n    import asyncio\n",
        },
    )
    _, problems = check(src)
    assert problems == [
        "pure: greenflag.rollout.steps reaches asyncio through greenflag.rollout.steps → greenflag.rollout.runs → "
        "greenflag.analysis.session → asyncio (line 5): a module marked __pure__ imports no I/O, directly or "
        "through what it imports"
    ]


def test_a_pure_module_may_name_io_types_under_type_checking(tmp_path: Path) -> None:
    src = write_tree(
        tmp_path,
        {
            "greenflag/units.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import asyncio\n"
            "__pure__ = True\n",
        },
    )
    assert check(src)[1] == []


def test_an_upward_import_fails(tmp_path: Path) -> None:
    src = write_tree(
        tmp_path,
        {
            "greenflag/platform/process.py": "from greenflag.rollout.store import InstanceRecord\n",
            "greenflag/rollout/store.py": "import sqlite3\n",
        },
    )
    _, problems = check(src)
    assert problems == [
        "layer: greenflag.platform.process → greenflag.rollout.store (line 1, top): platform (layer 1) may not "
        "import rollout (layer 4): lower layers never import upper ones"
    ]


def test_an_upward_import_inside_a_function_or_a_registry_string_fails(tmp_path: Path) -> None:
    src = write_tree(
        tmp_path,
        {
            "greenflag/load/engine/runner.py": "def f():\n    from greenflag.load.run import prepare\n",
            "greenflag/load/run.py": "",
            "greenflag/health/registry.py": 'KINDS = {"x": "greenflag.analysis.run:make"}\n',
            "greenflag/analysis/run.py": "",
        },
    )
    _, problems = check(src)
    assert problems == [
        "layer: greenflag.health.registry → greenflag.analysis.run (line 1, deferred): health (layer 1) may not "
        "import analysis (layer 3): lower layers never import upper ones",
        "layer: greenflag.load.engine.runner → greenflag.load.run (line 2, deferred): load.engine may not import "
        "load.run: inside load, load.metrics < load.http < load.engine < load.scenarios < load.run",
    ]


def test_a_module_in_no_layer_fails(tmp_path: Path) -> None:
    _, problems = check(write_tree(tmp_path, {"greenflag/gadgets.py": ""}))
    assert problems == ["layer: greenflag.gadgets is in no layer: add its package to the layer table"]


def test_a_module_level_cycle_fails_and_a_type_checking_one_does_not(tmp_path: Path) -> None:
    src = write_tree(
        tmp_path,
        {
            "greenflag/load/http/session.py": "from greenflag.load.http.sse import SSEStream\n",
            "greenflag/load/http/sse.py": "import greenflag.load.http.session\n",
            "greenflag/traffic/embedded/core.py": "from greenflag.traffic.embedded.client import Client\n",
            "greenflag/traffic/embedded/client.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from greenflag.traffic.embedded.core import Core\n",
        },
    )
    _, problems = check(src)
    assert problems == [
        "cycle: greenflag.load.http.session ↔ greenflag.load.http.sse: greenflag.load.http.session → "
        "greenflag.load.http.sse (line 1, top); greenflag.load.http.sse → greenflag.load.http.session (line 1, top): "
        "modules may not import each other at run time"
    ]


def test_a_cycle_through_a_deferred_import_fails(tmp_path: Path) -> None:
    src = write_tree(
        tmp_path,
        {
            "greenflag/load/scenarios/flows.py": "def load():\n    from greenflag.load.scenarios import flowrun\n",
            "greenflag/load/scenarios/flowrun.py": "from greenflag.load.scenarios.flows import FlowFile\n",
        },
    )
    _, problems = check(src)
    assert len(problems) == 1 and problems[0].startswith(
        "cycle: greenflag.load.scenarios.flowrun ↔ greenflag.load.scenarios.flows:"
    )


PLANTED = {
    "pure": (
        "units.py",
        "import asyncio\n",
        "pure: greenflag.analysis.compare reaches asyncio through greenflag.analysis.compare → greenflag.spec → "
        "greenflag.spec.base → "
        "greenflag.units → asyncio",
    ),
    "layer": (
        "platform/process.py",
        "from greenflag.rollout.store import Store\n",
        "layer: greenflag.platform.process → greenflag.rollout.store",
    ),
    "cycle": ("spec/__init__.py", "import greenflag.config\n", "cycle: greenflag.config ↔ greenflag.spec: "),
}


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_a_copy_of_greenflag_with_one_planted_line_fails(tmp_path: Path, kind: str) -> None:
    module, line, expected = PLANTED[kind]
    shutil.copytree(SRC / "greenflag", tmp_path / "greenflag", ignore=shutil.ignore_patterns("__pycache__"))
    assert check(tmp_path)[1] == []
    planted = tmp_path / "greenflag" / module
    planted.write_text(planted.read_text() + "\n" + line)
    problems = check(tmp_path)[1]
    assert any(p.startswith(expected) for p in problems), "\n".join(problems)


def test_no_module_level_side_effects_on_import() -> None:
    """Importing every module must not start servers, threads or event loops (no import-time side effects)."""
    before = threading.active_count()
    for path in sorted((SRC / "greenflag").rglob("*.py")):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        if name.endswith("__main__"):
            continue
        importlib.import_module(name)
    assert threading.active_count() == before
