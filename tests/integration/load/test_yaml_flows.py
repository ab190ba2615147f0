"""YAML journeys (Artillery-like flows) against the real reference service on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.load.test_journeys import contacts_count, demo_url, run_script
from tests.support import ROOT, greenflag_cmd

__all__ = ["demo_url"]  # the module-scoped fixture, shared with the Python journeys' tests

pytestmark = pytest.mark.timeout(90)


def test_example_yaml_journeys(demo_url: str, tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    before = contacts_count(demo_url)
    cmd = greenflag_cmd(
        "load", "run", str(ROOT / "examples" / "journeys.yaml"), "--host", demo_url, "--vus", "6",
        "--duration", "3s", "--quiet", "--summary-json", str(out),
    )  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(out.read_text())
    checks = summary["checks"]
    assert all(c["fails"] == 0 for c in checks.values()), checks
    assert checks["items listed"]["passes"] > 0  # json capture + check
    assert contacts_count(demo_url) - before == checks["contact stored"]["passes"]
    assert {"browse", "api"} <= set(summary["by_step"])
    created = summary["by_name"]["create item"]
    assert created["status"] == {"201": created["http_reqs"]["count"]}
    assert "script_errors" not in summary


async def test_yaml_capture_form_submit_and_missing_token(demo_url: str, tmp_path: Path) -> None:
    flows = tmp_path / "flows.yaml"
    flows.write_text(
        """
flows:
  - name: no token
    steps:
      - post:
          url: /contact
          form: {email: a@example.com, message: hi}
          check: {status: 403, name: rejected without token}
  - name: with form
    steps:
      - get: {url: /contact, capture: {form: "form#contact", as: f}}
      - submit_form:
          selector: "form#contact"
          fields: {email: "vu{{ vu_id }}@example.com", message: "token was {{ f.csrf_token }}"}
          check: {contains: stored, name: form stored}
"""
    )
    before = contacts_count(demo_url)
    summary = await run_script(flows, demo_url, vus=2, iterations=20, executor="shared-iterations")
    rejected, stored = summary["checks"]["rejected without token"], summary["checks"]["form stored"]
    assert rejected["fails"] == 0 and stored["fails"] == 0
    assert rejected["passes"] > 0 and stored["passes"] > 0
    assert rejected["passes"] + stored["passes"] == 20
    assert contacts_count(demo_url) - before == stored["passes"]
    assert set(summary["by_step"]) == {"no token", "with form"}


def test_yaml_validation_error_names_file_line_and_key(tmp_path: Path) -> None:
    flows = tmp_path / "bad.yaml"
    flows.write_text("flows:\n  - name: a\n    steps:\n      - get: {url: /}\n      - get: {url: /, chek: 1}\n")
    done = subprocess.run(
        greenflag_cmd("load", "run", str(flows), "--host", "http://127.0.0.1:9"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"{flows}:5: flows[0].steps[1].get.chek: unknown key" in done.stderr
    assert "Traceback" not in done.stderr
