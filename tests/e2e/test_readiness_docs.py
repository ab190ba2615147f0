"""docs/readiness.md beyond what the docs harness runs (tests/docs runs its commands with their documented exit
codes, its release and its Python): every YAML example loads (and the checklist one passes), the JSON example has
exactly the keys a check prints, the scoring tables match the code, and the first `--help` example of `check
waf | headers | all` runs against the reference service."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from greenflag.config import load_spec
from greenflag.demo.process import DemoAppProcess, run_demo_app
from greenflag.readiness.headers.grade import SCORE_TABLE
from greenflag.readiness.waf.corpus import load_corpus
from tests.support import ROOT, greenflag_cmd

DOC = ROOT / "docs" / "readiness.md"
HEAD = {
    "service": "docs",
    "platform": {"command": "greenflag demo-app --port {port} --version {version}"},
    "strategy": {"canary": {"steps": [{"set_weight": 100}]}},
}


@pytest.fixture(scope="module")
def app() -> Iterator[DemoAppProcess]:
    with run_demo_app("v1") as a:
        yield a


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), flags=re.S)


def localize(text: str, app: DemoAppProcess, tmp_path: Path) -> str:
    """The docs use the demo service on port 8080; the test's runs on a free port."""
    return text.replace("127.0.0.1:8080", app.url.removeprefix("http://")).replace("/tmp/", f"{tmp_path}/")


def example_spec(tmp_path: Path, app: DemoAppProcess) -> Path:
    source = (ROOT / "examples" / "readiness.yaml").read_text()
    path = tmp_path / "readiness.yaml"
    path.write_text(localize(source, app, tmp_path))
    return path


def run(line: str, app: DemoAppProcess, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    words = shlex.split(localize(line, app, tmp_path), comments=True)
    assert words[0] == "greenflag", line
    words = [str(example_spec(tmp_path, app)) if w == "examples/readiness.yaml" else w for w in words]
    return subprocess.run(greenflag_cmd(*words[1:]), capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_yaml_examples_load_and_the_checklist_passes(app: DemoAppProcess, tmp_path: Path) -> None:
    examples = [yaml.safe_load(block) for block in blocks("yaml")]
    corpus = [e for e in examples if "attacks" in e]
    specs = [e for e in examples if "service" in e]  # a whole greenflag.yaml: its rollout runs in the docs harness
    checklists = [e for e in examples if "readiness" in e and "service" not in e]
    assert corpus and checklists and len(corpus) + len(checklists) + len(specs) == len(examples)
    for index, item in enumerate(specs):
        path = tmp_path / f"spec{index}.yaml"
        path.write_text(yaml.safe_dump(item))
        assert load_spec(path).readiness.required_before == "promote"
    for index, item in enumerate(corpus):
        path = tmp_path / f"corpus{index}.yaml"
        path.write_text(yaml.safe_dump(item))
        assert [s.id for s in load_corpus([path], builtin=False)] == [item["id"]]
    for index, item in enumerate(checklists):
        path = tmp_path / f"greenflag{index}.yaml"
        path.write_text(localize(yaml.safe_dump({**HEAD, **item}), app, tmp_path))
        assert load_spec(path).readiness.required_before == "promote"
        done = subprocess.run(greenflag_cmd("check", "all", "-f", str(path), "--json"), capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["ok"] is True
    assert load_spec(example_spec(tmp_path, app)).readiness.health


def test_json_example_has_the_keys_a_check_prints(app: DemoAppProcess, tmp_path: Path) -> None:
    (documented,) = [json.loads(block) for block in blocks("json")]
    done = run("greenflag check headers http://127.0.0.1:8080/ --json", app, tmp_path)
    real = json.loads(done.stdout)
    assert set(documented) == set(real)
    with_evidence = next(f for f in real["findings"] if "evidence" in f)
    assert set(documented["findings"][0]) == set(with_evidence)
    assert all(set(f) <= set(with_evidence) for f in real["findings"])


def test_tables_match_the_code() -> None:
    text = DOC.read_text()
    links = set(re.findall(r"\]\(([a-z-]+\.md)\)", text))
    assert links >= {"check-tls.md", "check-dns.md"}
    assert all((DOC.parent / link).exists() for link in links)
    rows = re.findall(r"^\| [a-z-() ]+ \| `([a-z0-9-]+)` \| ([+-]\d+) \|$", text, flags=re.M)
    assert {result: int(modifier) for result, modifier in rows} == {k: v[0] for k, v in SCORE_TABLE.items()}
    classes = re.findall(r"^\| `([a-z_]+)` \| [^|]+ \| [^|]+ \| (\d+) \| (\d+) \| ([^|]+) \| ([^|]+) \|$", text, re.M)
    corpus = {s.id: s for s in load_corpus()}
    assert {c[0] for c in classes} == set(corpus)
    for set_id, attacks, benign, places, encoders in classes:
        item = corpus[set_id]
        assert (int(attacks), int(benign)) == (len(item.attacks), len(item.benign))
        assert [p.strip() for p in places.split(",")] == list(item.placeholders)
        assert [e.strip() for e in encoders.split(",")] == list(item.encoders)


@pytest.mark.parametrize("command", ["waf", "headers", "all"])
def test_help_examples_run(command: str, app: DemoAppProcess, tmp_path: Path) -> None:
    done = subprocess.run(greenflag_cmd("check", command, "--help"), capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    assert done.returncode == 0 and "Examples:" in done.stdout
    first = next(line.strip() for line in done.stdout.split("Examples:", 1)[1].splitlines()
                 if line.strip().startswith("greenflag"))  # fmt: skip
    result = run(first, app, tmp_path)
    assert result.returncode in (0, 4), result.stderr  # it ran: ready or not ready, never bad input or a crash
