"""YAML journeys: the file format, validated with file:line and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenflag.errors import ConfigError, UsageError
from greenflag.load.scenarios.flowrun import load_yaml_flows
from greenflag.load.scenarios.user import task_table
from tests.support import ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flows.yaml"
    path.write_text(text)
    return path


def test_example_file_loads() -> None:
    loaded = load_yaml_flows(ROOT / "examples" / "journeys.yaml", host="http://127.0.0.1:8080")
    (cls,) = loaded.classes
    assert [w for _, w in task_table(cls)] == [5, 2, 3, 1]
    assert loaded.options.vus == 10 and "checks" in loaded.thresholds
    assert loaded.custom_metrics


ONE_STEP = "flows:\n  - name: a\n    steps:\n      - "
BAD_FILES = [
    (ONE_STEP + "get: {url: /, chek: 1}\n", r"flows\.yaml:4: flows\[0\]\.steps\[0\]\.get\.chek: unknown key"),
    (ONE_STEP + "get: {url: /}\n        think: 1\n", r"flows\.yaml:4: flows\[0\]\.steps\[0\]: a step is exactly"),
    ("flows:\n  - name: a\n    weight: 0\n    steps: [{think: 1}]\n", r"flows\.yaml:3: flows\[0\]\.weight"),
    ("flows: []\n", r"flows: List should have at least 1 item"),
    ("config:\n  wait_time: {between: [2, 1]}\n" + ONE_STEP + "think: 1\n", r"config\.wait_time"),
    (ONE_STEP + "get: {url: /, capture: {as: x}}\n", r"capture needs exactly one of"),
    (ONE_STEP + "get: {url: /, check: {name: x}}\n", r"a check needs one of"),
    ("flows:\n  - name: a\n    steps: [{think: 1}]\n  - name: a\n    steps: [{think: 1}]\n", r"names must be unique"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_validation_errors_name_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_yaml_flows(write(tmp_path, text), host="http://127.0.0.1:1")
    assert err.match(expected)


def test_options_feeders_and_host_errors(tmp_path: Path) -> None:
    steps = "flows:\n  - name: a\n    steps: [{think: 1}]\n"
    with pytest.raises(UsageError, match=r"flows\.yaml:2: config\.options\.vu: unknown option"):
        load_yaml_flows(write(tmp_path, "config:\n  options: {vu: 1}\n" + steps), host="http://h")
    with pytest.raises(ConfigError, match=r"flows\.yaml:2: config\.feeders: .*missing\.csv: cannot read"):
        load_yaml_flows(write(tmp_path, "config:\n  feeders: {u: {path: missing.csv}}\n" + steps), host="http://h")
    with pytest.raises(UsageError, match="no host"):
        load_yaml_flows(write(tmp_path, steps), host=None)
