"""docs/drills.md held to the code: the `--help` examples are commands of the page, its drill.yaml and key table
cover every key of the model, and every finding and timeline event is documented. (The docs suite, tests/docs,
runs the page's commands, its drill.yaml and Python example, and compares its JSON with a real record.)"""

from __future__ import annotations

import os
import re
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


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, flags=re.DOTALL)


def doc_commands() -> set[str]:
    """Every `greenflag …` command of the shell and console blocks, without its comment or output redirection."""
    out = set()
    for block in blocks("sh") + blocks("console"):
        for line in block.splitlines():
            line = line.removeprefix("$ ")
            if line.startswith("greenflag "):
                out.add(re.sub(r"\s+>\s*\S+$", "", line.partition("#")[0].strip()))
    return out


def help_examples(kind: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "greenflag", "drill", kind, "--help"], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    assert out.returncode == 0
    return [line.strip().partition("#")[0].strip() for line in out.stdout.splitlines()
            if line.strip().startswith("greenflag drill")]  # fmt: skip


def test_help_examples_are_the_documented_ones() -> None:
    documented = doc_commands()
    for kind in ("postgres", "sqlite"):
        examples = help_examples(kind)
        assert examples and set(examples) <= documented, (examples, documented)


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


def test_every_finding_and_event_is_documented() -> None:
    source = "".join(p.read_text() for p in (ROOT / "src" / "greenflag" / "dr").rglob("*.py"))
    findings = set(re.findall(r'"(dr\.[a-z]+\.[a-z_]+)"', source)) | {"dr.integrity.skipped"}
    assert findings and all(f"`{f}`" in DOC for f in findings), [f for f in findings if f"`{f}`" not in DOC]
    events = {e.value for e in EventName} | set(re.findall(r'tl\.add\("([a-z_]+)"', source))
    assert all(f"`{e}`" in DOC for e in events), [e for e in events if f"`{e}`" not in DOC]
