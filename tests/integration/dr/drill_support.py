"""Running `greenflag drill …` as a subprocess, bounded in time, and reading what it printed and recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Run", "event", "events", "run_drill"]


@dataclass
class Run:
    returncode: int
    data: dict[str, Any]
    stderr: str


def run_drill(kind: str, *args: str, records: Path, timeout: float = 90.0, cwd: Path | None = None) -> Run:
    """`greenflag drill KIND … --json -q --records DIR`; a drill that hangs fails the test after `timeout`."""
    cmd = [sys.executable, "-m", "greenflag", "drill", kind, *args, "--json", "-q", "--records", str(records)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert "Traceback" not in out.stderr, out.stderr
    try:
        data = json.loads(out.stdout)
    except ValueError:
        raise AssertionError(f"no JSON on stdout (exit {out.returncode}): {out.stdout!r} {out.stderr!r}") from None
    return Run(out.returncode, data, out.stderr)


def events(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in data["timeline"] if e["event"] == name]


def event(data: dict[str, Any], name: str) -> dict[str, Any]:
    found = events(data, name)
    assert found, f"no {name} event in {[e['event'] for e in data['timeline']]}"
    return found[0]
