"""drill.yaml: defaults, overrides from the command line, and errors that name the file, line and key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from greenflag.dr.config import load_drill_spec, objectives_of
from greenflag.errors import ConfigError, UsageError


def test_defaults_are_the_field_objectives(tmp_path: Path) -> None:
    spec = load_drill_spec(None, "postgres")
    assert (spec.objectives.rto, spec.objectives.rpo) == (900.0, 300.0)
    assert spec.method("postgres") == "stream" and spec.protection.synchronous
    assert objectives_of(spec, "postgres").max_writes_lost == 0  # synchronous streaming promises no loss
    assert (
        objectives_of(load_drill_spec(None, "postgres", {"protection.method": "archive"}), "postgres").max_writes_lost
        is None
    )
    assert load_drill_spec(None, "sqlite").method("sqlite") == "backup"
    assert spec.records == ".greenflag/drills"


def test_sqlite_methods_and_their_intervals(tmp_path: Path) -> None:
    assert load_drill_spec(None, "sqlite").interval() == 1.0  # an online backup a second
    wal = load_drill_spec(None, "sqlite", {"protection.method": "wal"})
    assert (wal.method("sqlite"), wal.interval()) == ("wal", 0.1)  # WAL frames shipped every 100 ms
    path = tmp_path / "drill.yaml"
    path.write_text("protection:\n  method: wal\n  interval: 250ms\n")
    assert load_drill_spec(path, "sqlite").interval() == 0.25


def test_file_values_and_command_line_overrides(tmp_path: Path) -> None:
    path = tmp_path / "drill.yaml"
    path.write_text("objectives:\n  rto: 1m\n  rpo: 2s\n  max_writes_lost: 5\nheartbeat: {rate: 200, duration: 30s}\n")
    spec = load_drill_spec(path, "postgres", {"objectives.rpo": 1.0})
    assert (spec.objectives.rto, spec.objectives.rpo, spec.heartbeat.rate, spec.heartbeat.duration) == (60, 1, 200, 30)
    assert objectives_of(spec, "postgres").max_writes_lost == 5


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("objectives:\n  rto: 1m\n  rtoo: 2m\n", "postgres", r"drill.yaml:3: objectives.rtoo: unknown key"),
        ("objectives:\n  rto: soon\n", "postgres", r"drill.yaml:2: objectives.rto: 'soon' is not a duration"),
        ("protection:\n  method: backup\n", "postgres", r"drill.yaml:2: protection.method: 'backup' is not a postgres"),
        ("protection:\n  method: stream\n", "sqlite", r"not a sqlite protection; expected one of backup, wal"),
        ("protection:\n  interval: 0s\n", "sqlite", r"drill.yaml:2: protection.interval: Input should be greater"),
        ("kind: sqlite\n", "postgres", r"drill.yaml:1: kind: this file describes a sqlite drill"),
        ("postgres:\n  wal_segment_size_mb: 3\n", "postgres", r"wal_segment_size_mb: expected a power of two"),
        ("heartbeat:\n  rate: 0\n", "postgres", r"drill.yaml:2: heartbeat.rate: Input should be greater than 0"),
        ("fault:\n  remove_wal_segment: true\n", "sqlite", r"fault.remove_wal_segment: only an SQLite drill with"),
        ("- a\n- b\n", "postgres", r"expected a mapping"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, kind: str, expected: str) -> None:
    path = tmp_path / "drill.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_drill_spec(path, kind)


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_drill_spec(tmp_path / "nope.yaml", "postgres")


def test_the_command_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "drill.yaml"
    path.write_text("objectives:\n  rto: 1m\n  rtoo: 2m\n")
    for args in (["postgres", "-f", str(path)], ["sqlite", "--interval", "0s"], ["sqlite", "--rto", "x"],
                 ["sqlite", "--db", str(tmp_path / "missing.db")]):  # fmt: skip
        out = subprocess.run([sys.executable, "-m", "greenflag", "drill", *args], capture_output=True, text=True,
                             timeout=60)  # fmt: skip
        assert out.returncode == 2, (args, out.stderr)
        assert "Traceback" not in out.stderr and out.stderr.startswith("greenflag: error: "), out.stderr
