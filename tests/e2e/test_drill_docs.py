"""docs/drills.md beyond what the docs harness runs (tests/docs: its commands, drill.yaml, the JSON example's keys,
the Python faults example): `--help`'s examples are the page's, the summary example has a real summary's lines,
the key table covers every drill.yaml key, and every finding and timeline event of the code is documented."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from greenflag.dr.config import DrillSpec, load_drill_spec
from greenflag.dr.model import Event, EventName, Objectives
from greenflag.dr.records import summary
from greenflag.dr.score import score

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "drills.md").read_text()
RECORDED = ROOT / "tests" / "unit" / "dr" / "timelines" / "postgres-stream-sync.json"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, flags=re.DOTALL)


def doc_commands() -> list[str]:
    """Every `greenflag …` line of the shell blocks, without its comment."""
    return [line.partition("#")[0].strip() for block in blocks("sh") for line in block.splitlines()
            if line.startswith("greenflag ")]  # fmt: skip


def help_examples(kind: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "greenflag", "drill", kind, "--help"], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    assert out.returncode == 0
    return [line.strip().partition("#")[0].strip() for line in out.stdout.splitlines()
            if line.strip().startswith("greenflag drill")]  # fmt: skip


def test_help_examples_are_the_documented_ones() -> None:
    documented = set(doc_commands())
    for kind in ("postgres", "sqlite"):
        examples = help_examples(kind)
        assert examples and set(examples) <= documented, examples


def test_the_summary_example_has_the_lines_of_a_real_summary() -> None:
    # the page's commands run under the docs harness (tests/docs); what they print is timing, so the text example
    # is checked here: a recorded drill's summary has the documented lines, labels and layout, in that order
    data = json.loads(RECORDED.read_text())
    o = data["objectives"]
    timeline = [Event.from_json(e) for e in data["timeline"]]
    result = score(data["kind"], timeline, Objectives(o["rto_s"], o["rpo_s"], o["max_writes_lost"]),
                   protection=data["protection"])  # fmt: skip
    real = summary(result, data["records"]).splitlines()
    (example,) = blocks("text")
    documented = example.strip("\n").splitlines()

    def shape(line: str) -> str:  # the words, with the measured numbers and file names as placeholders
        return " ".join(re.sub(r"\S*\d\S*", "#", line).split())

    assert [shape(line) for line in documented] == [shape(line) for line in real]
    assert [len(line) - len(line.lstrip()) for line in documented] == [len(line) - len(line.lstrip()) for line in real]


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
