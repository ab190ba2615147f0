"""docs/data-safety.md is executed: its files are written, its shell block runs as written (a background
`greenflag up`, exit codes after `echo $?`, the output its comments promise), its YAML validates, its JSON example
has the keys a real status has, and every key of `migrations:` and `cdn:` is in its tables."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from greenflag.platform.process import pid_alive
from greenflag.spec import CdnSpec, MigrationsSpec, Spec
from tests.support import free_port, wait_until

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "data-safety.md").read_text()
FENCE = re.compile(r"(?:<!-- doc-test: (?P<note>[^\n]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str, str]]:
    """(annotation, language, body) of every fenced block, in order."""
    return [(m["note"] or "", m["lang"], m["body"]) for m in FENCE.finditer(DOC)]


def matches(expected: str, line: str) -> bool:
    pattern = re.escape(expected.strip()).replace(re.escape("…"), ".*").replace(re.escape("..."), ".*")
    return re.fullmatch(pattern, line.strip()) is not None


def run_shell_block(block: str, cwd: Path, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    """Each command as a reader would type it: exit 0 unless `echo $?   # N` follows; comment lines right after a
    command are lines of its output, in order; a command ending in `&` runs in the background (the next waits
    until `greenflag up` is ready)."""
    lines = block.strip().splitlines()
    background: list[subprocess.Popen[bytes]] = []
    info = cwd / ".greenflag" / "up.json"
    i = 0
    while i < len(lines):
        command = lines[i]
        i += 1
        if command.startswith("#") or not command.strip():
            continue
        if command.endswith("&"):
            log = open(cwd / "background.log", "ab")  # noqa: SIM115 - closed with the process
            background.append(subprocess.Popen(["bash", "-c", command[:-1]], cwd=cwd, env=env, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip
            wait_until(lambda: pid_alive(int(json.loads(info.read_text())["pid"])), timeout=30, what=command)
            continue
        expected_code = 0
        if i < len(lines) and (m := re.fullmatch(r"echo \$\?\s+#\s*(\d+)", lines[i].strip())):
            expected_code, i = int(m.group(1)), i + 1
        promised = []
        while i < len(lines) and lines[i].startswith("# "):
            promised.append(lines[i][2:])
            i += 1
        out = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == expected_code, (command, out.stdout[-3000:], out.stderr[-3000:])
        assert "Traceback" not in out.stderr, out.stderr
        seen = out.stdout.splitlines()
        for expected in promised:
            found = next((n for n, line in enumerate(seen) if matches(expected, line)), None)
            assert found is not None, (command, expected, out.stdout)
            seen = seen[found + 1 :]
    return background


def test_the_example_runs_as_written(tmp_path: Path) -> None:
    ports = {"8000": str(free_port()), "8001": str(free_port())}
    for note, _, body in blocks():
        if note.startswith("file "):
            for old, new in ports.items():
                body = body.replace(f"127.0.0.1:{old}", f"127.0.0.1:{new}")
            (tmp_path / note.split()[1]).write_text(body)
    (tmp_path / "bin").mkdir()
    shim = tmp_path / "bin" / "greenflag"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m greenflag "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT / "src")}  # fmt: skip
    shell = next(body for _, lang, body in blocks() if lang == "sh")  # "Try it"; the later one reads its output
    background = run_shell_block(shell, tmp_path, env)
    try:
        status = json.loads((tmp_path / "status.json").read_text())
    finally:
        for proc in background:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    # the JSON example: the keys a real status has under data_steps, documented in the table
    example = next(json.loads(body) for note, lang, body in blocks() if lang == "json" and note.startswith("keys"))
    assert set(next(iter(example["data_steps"].values()))) == set(next(iter(status["data_steps"].values())))
    table = DOC.split("| `data_steps` |", 1)[1].split("\n", 1)[0]
    assert all(f"`{stage}`" in table for stage in status["data_steps"]), status["data_steps"]
    assert status["data_steps"]["migration_guard"]["outcome"] == "failed"
    assert status["data_steps"]["traffic_back_on_stable"]["outcome"] == "ok"


def test_the_yaml_examples_validate() -> None:
    minimal: dict[str, Any] = {"service": "s", "strategy": {"canary": {"steps": [{"set_weight": 100}]}},
                               "platform": {"command": "./app --port {port}"}}  # fmt: skip
    validated = 0
    for _, lang, body in blocks():
        if lang == "yaml":
            data = yaml.safe_load(body)
            Spec.model_validate({**minimal, **data} if "service" not in data else data)
            validated += 1
    assert validated == 2


def leaf_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        annotation: Any = field.annotation
        inner = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)]
        nested = [a for a in inner if issubclass(a, BaseModel) and a.__name__ not in ("ProbeSpec", "CommandSpec")]
        if nested:
            keys |= leaf_keys(nested[0], f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_every_key_is_in_the_tables() -> None:
    named = " ".join(re.findall(r"^\| (`[^|]+`) \|", DOC, flags=re.MULTILINE))
    for key in leaf_keys(MigrationsSpec) | leaf_keys(CdnSpec):
        assert f"`{key.replace('purge.', 'purge[].')}`" in named, key
