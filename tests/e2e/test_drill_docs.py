"""docs/drills.md is executed: its shell examples (the same as `--help`'s), its drill.yaml, its Python faults
example; its key table, JSON example and lists of findings and events are checked against the code."""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from greenflag.dr.config import DrillSpec, load_drill_spec
from greenflag.dr.model import EventName

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "drills.md").read_text()
RECORDED = ROOT / "tests" / "unit" / "dr" / "timelines" / "postgres-stream-sync.json"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, flags=re.DOTALL)


def doc_commands() -> list[tuple[str, int]]:
    """Every `greenflag …` line of the shell blocks, with the exit code its comment promises (default 0)."""
    out = []
    for block in blocks("sh"):
        for line in block.splitlines():
            if line.startswith("greenflag "):
                command, _, comment = line.partition("#")
                code = int(m.group(1)) if (m := re.search(r"exits (\d+)", comment)) else 0
                out.append((command.strip(), code))
    return out


def help_examples(kind: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "greenflag", "drill", kind, "--help"], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    assert out.returncode == 0
    return [line.strip().partition("#")[0].strip() for line in out.stdout.splitlines()
            if line.strip().startswith("greenflag drill")]  # fmt: skip


def test_help_examples_are_the_documented_ones() -> None:
    documented = {command for command, _ in doc_commands()}
    for kind in ("postgres", "sqlite"):
        examples = help_examples(kind)
        assert examples and set(examples) <= documented, examples


def test_documented_commands_run(tmp_path: Path) -> None:
    (tmp_path / "drill.yaml").write_text(blocks("yaml")[0])
    with sqlite3.connect(tmp_path / "app.db") as conn:  # the app.db the example drills on
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)")
        conn.executemany("INSERT INTO orders (total) VALUES (?)", [(i,) for i in range(100)])
    ran = 0
    for command, expected in doc_commands():
        if "--dsn" in command:
            continue  # needs a cluster to kill: tests/integration/dr/test_drill_postgres.py drills one with --dsn
        argv = shlex.split(command)
        out = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert out.returncode == expected, (command, out.stdout[-2000:], out.stderr[-2000:])
        assert "Traceback" not in out.stderr
        ran += 1
    assert ran >= 5
    records = sorted((tmp_path / ".greenflag" / "drills").glob("*.json"))
    assert len(records) == ran  # every drill left a record, the failed one included
    assert (tmp_path / "drill-junit.xml").exists()


def leaf_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation: Any = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += leaf_keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def test_drill_yaml_example_is_valid_and_every_key_is_documented(tmp_path: Path) -> None:
    path = tmp_path / "drill.yaml"
    path.write_text(blocks("yaml")[0])
    spec = load_drill_spec(path, "postgres")
    assert spec.objectives.rto == 900 and spec.protection.method == "stream"
    table = {m.group(1) for m in re.finditer(r"^\| `([a-z_.]+)` \|", DOC, flags=re.MULTILINE)}
    assert set(leaf_keys(DrillSpec)) <= table, set(leaf_keys(DrillSpec)) - table


def test_json_example_has_the_keys_a_real_record_has() -> None:
    example = json.loads(blocks("json")[0])
    real = json.loads(RECORDED.read_text())
    assert set(example) == set(real)
    assert set(example["objectives"]) == set(real["objectives"])
    assert set(example["timeline"][0]) == set(real["timeline"][0]) == {"t", "at", "event", "detail"}
    documented = {m.group(1) for m in re.finditer(r"^\| `([a-z_]+)(?:\[\])?`", DOC, flags=re.MULTILINE)}
    documented |= {"kind", "started_at", "finished_at", "tool"}
    assert set(real) <= documented, set(real) - documented


def test_every_finding_and_event_is_documented() -> None:
    source = "".join(p.read_text() for p in (ROOT / "src" / "greenflag" / "dr").rglob("*.py"))
    findings = set(re.findall(r'"(dr\.[a-z]+\.[a-z_]+)"', source)) | {"dr.integrity.skipped"}
    assert findings and all(f"`{f}`" in DOC for f in findings), [f for f in findings if f"`{f}`" not in DOC]
    events = {e.value for e in EventName} | set(re.findall(r'tl\.add\("([a-z_]+)"', source))
    assert all(f"`{e}`" in DOC for e in events), [e for e in events if f"`{e}`" not in DOC]


def test_python_faults_example_runs(tmp_path: Path) -> None:
    (code,) = blocks("python")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
