"""`greenflag demo --quick` end to end: the whole story on the embedded default, with its numbers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support import greenflag_cmd


def test_demo_quick_tells_the_whole_story(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run(
        greenflag_cmd("demo", "--quick", "--out", str(out), "--vus", "30"),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] is True
    assert summary["switch_failed_requests"] == 0
    assert summary["rolled_back"] is True
    assert summary["stable"] == "v2"
    assert 0 <= summary["rollback_seconds"] < 60
    assert "error-rate" in summary["rollback_trigger"] or "error_rate" in summary["rollback_trigger"]
    blue_green = summary["load"]["blue_green"]["metrics"]
    assert blue_green["http_reqs"]["count"] > 100
    assert blue_green["http_req_failed"]["fails"] == 0
    assert summary["load"]["canary"]["metrics"]["http_reqs"]["count"] > 100
    assert "the story holds" in proc.stdout
    # nothing left running: every instance the demo launched was stopped
    database = (out / "state" / "demo.db").resolve()
    assert database.exists()  # the versions' shared database, named on their command lines
    leftovers = subprocess.run(["pgrep", "-f", f"demo-app.*--db {database}"], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""
