"""Report options refused before any traffic: one line naming the option, exit 2, nothing written or lost."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import DEMO_PLATFORM_YAML, greenflag_cmd

# nothing listens on this port: a run that started would count connect errors, not exit 2
TARGET = "http://127.0.0.1:9/"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out-interval", "500ms", "--out", "s.jsonl"], "--out-interval '500ms': a whole number of seconds"),
        (["--out-interval", "1.5s", "--out", "s.jsonl"], "--out-interval '1.5s'"),
        (["--html", "."], "--html .: is a directory"),
        (["--junit", "existing/dir"], "--junit existing/dir: is a directory"),
        (["--out", "keep.jsonl", "--threshold", "no_such_metric: rate<1"], "no such metric"),
    ],
)
def test_load_run_refuses_bad_report_options(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "existing" / "dir").mkdir(parents=True)
    (tmp_path / "keep.jsonl").write_text("an earlier run's series\n")
    result = subprocess.run(
        greenflag_cmd("load", "run", TARGET, "--duration", "1s", "--quiet", *args),
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "keep.jsonl").read_text() == "an earlier run's series\n"  # not truncated by bad input
    assert "greenflag load run" not in result.stdout  # no run started


def test_rollout_reports_need_wait(tmp_path: Path) -> None:
    spec = tmp_path / "greenflag.yaml"
    spec.write_text("service: s\nstrategy: {canary: {steps: [{set_weight: 100}]}}\n" + DEMO_PLATFORM_YAML)
    result = subprocess.run(
        greenflag_cmd("rollout", "start", "-f", str(spec), "--version", "v1", "--html", "r.html"),
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and "add --wait" in result.stderr
