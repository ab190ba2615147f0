"""`greenflag demo --quick` end to end: the whole story on the embedded default, with its numbers."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support import greenflag_cmd


def test_demo_quick_tells_the_whole_story(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run(
        greenflag_cmd(
            "demo", "--quick", "--out", str(out), "--vus", "30",
            "--html", str(out / "report.html"), "--junit", str(out / "junit.xml"), "--dashboard",
        ),
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
    assert "greenflag: live dashboard on http://127.0.0.1:" in proc.stderr
    # the report and the JUnit of the whole story: both load runs' series, the three rollouts, v3's rollback
    html = (out / "report.html").read_text()
    model = json.loads(html.split('id="gf-data">', 1)[1].split("</script>", 1)[0])
    assert [(r["version"], r["phase"]) for r in model["rollouts"]] == [
        ("v1", "Healthy"), ("v2", "Healthy"), ("v3", "RolledBack"),
    ]  # fmt: skip
    assert model["rollouts"][-1]["rollback"]["trigger"] == "error_rate"
    series = [json.loads(line) for name in ("load-blue-green.jsonl", "load-canary.jsonl")
              for line in (out / name).read_text().splitlines()]  # fmt: skip
    assert len(model["load"]["points"]) == len(series)
    cases = ET.parse(out / "junit.xml").getroot().iter("testcase")
    failed = sorted(c.get("name", "") for c in cases if c.find("failure") is not None)
    assert "rollout of v3" in failed and "rollout of v2" not in failed and "rollout of v1" not in failed
    # nothing left running: every instance the demo launched was stopped
    database = (out / "state" / "demo.db").resolve()
    assert database.exists()  # the versions' shared database, named on their command lines
    leftovers = subprocess.run(["pgrep", "-f", f"demo-app.*--db {database}"], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""
