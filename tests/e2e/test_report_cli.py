"""Report options refused before any traffic: one line naming the option, exit 2, nothing written or lost; series
files merged by `greenflag report`."""

from __future__ import annotations

import json
import re
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


def test_series_files_merge_interval_by_interval(tmp_path: Path) -> None:
    """`greenflag report --series A --series B`: two generators' lines add up (here the same file twice: twice the
    requests of every interval), and the page carries its data for the embedded script to draw, offline."""
    series = Path(__file__).with_name("data") / "release" / "series.jsonl"
    out = tmp_path / "merged.html"
    result = subprocess.run(
        greenflag_cmd("report", "--series", str(series), "--series", str(series), "-o", str(out), "--title", "two"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert "<svg" not in html  # drawn by the embedded script when opened
    found = re.search(r'id="gf-data">(.*?)</script>', html)
    assert found is not None
    data = json.loads(found.group(1))
    lines = [json.loads(line) for line in series.read_text().splitlines()]
    assert data["title"] == "two" and data["load"]["headline"]["requests"] == 2 * sum(x["http_reqs"] for x in lines)
