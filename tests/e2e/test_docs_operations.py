"""docs/operations.md: its `sh` examples run as written (bash, from a copy of the repository's examples), its
metric table names exactly the series greenflag defines, and its YAML parses."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from greenflag.ops import metric_names as m
from greenflag.ops.alert_rules import ALERTS

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text()
FENCES = [(t.info, t.content) for t in MarkdownIt().parse(DOC) if t.type == "fence"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (Debian prometheus)")
def test_shell_examples_run(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    blocks = [body for info, body in FENCES if info == "sh"]
    assert len(blocks) >= 3
    script = f"set -euo pipefail\ngreenflag() {{ {sys.executable} -m greenflag \"$@\"; }}\n" + "\n".join(blocks)
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "out"
    assert "SUCCESS: 11 rules found" in result.stdout
    assert json.loads((out / "greenflag-dashboard.json").read_text())["uid"] == "greenflag-contact-app"
    assert sorted(p.name for p in (out / "runbooks").iterdir()) == [
        "README.md", "deployment.md", "dr-restore.md", "incident-response.md", "rollback.md"]  # fmt: skip
    strict = yaml.safe_load((out / "strict-rules.yml").read_text())
    assert strict["groups"][0]["rules"][0]["expr"].endswith("> 0.005")
    alarms = [json.loads(line) for line in (out / "alarms.jsonl").read_text().splitlines()]
    assert len(alarms) == 6 and alarms[0]["AlarmName"] == "greenflag-shop-alb-5xx-rate"


def test_metric_table_is_the_metric_names() -> None:
    documented = set(re.findall(r"`(greenflag_[a-z_]+)`", DOC))
    exposed = {x.sample if x.kind != "histogram" else x.name for x in m.ALL}
    assert documented == exposed


def test_every_alert_is_documented_and_yaml_parses() -> None:
    for alert in ALERTS:
        assert alert.name in DOC or alert.name.replace("GreenflagCertificate", "…") in DOC, alert.name
    for info, body in FENCES:
        if info == "yaml":
            assert isinstance(yaml.safe_load(body), dict)
