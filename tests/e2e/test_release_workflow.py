"""examples/github-actions/release.yml: a valid GitHub Actions workflow (actionlint, with shellcheck on the run
scripts when installed) whose jobs form the documented pipeline, and whose every `greenflag …` line parses
against the real CLI (commands being added in parallel are named in tests/clilines.py and skipped)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.clilines import check_line, greenflag_commands

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "github-actions" / "release.yml"


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def run_scripts() -> list[tuple[str, str]]:
    return [(job, step["run"]) for job, spec in workflow()["jobs"].items() for step in spec["steps"] if "run" in step]


def test_pipeline_shape() -> None:
    jobs = workflow()["jobs"]
    needs = {name: set(job.get("needs", [])) for name, job in jobs.items()}
    assert needs["readiness"] == {"security", "tests"} and needs["load-gate"] == {"readiness"}
    assert needs["rollout"] == {"load-gate"} and needs["smoke"] == {"rollout"}
    assert jobs["rollout"]["environment"] == "production"
    text = {job: "\n".join(s for j, s in run_scripts() if j == job) for job in jobs}
    assert "pip-audit" in text["security"] and "bandit" in text["security"]
    assert '"$rc" -eq 99' in text["load-gate"] and "::error" in text["load-gate"]
    assert '"$rc" -eq 3' in text["rollout"] and "--wait" in text["rollout"]
    assert "greenflag probe" in text["smoke"]
    assert any("action-junit-report" in s.get("uses", "") for s in jobs["report"]["steps"])


def lines() -> list[list[str]]:
    return [argv for _, script in run_scripts() for argv in greenflag_commands(script)]


def test_the_workflow_uses_greenflag_commands() -> None:
    commands = [" ".join(argv[:3]) for argv in lines()]
    assert commands.count("greenflag load run") == 2  # the gate on staging, the smoke test on production
    for command in ("greenflag check all", "greenflag rollout start", "greenflag rollout status"):
        assert command in commands
    assert ["greenflag", "probe", "$PRODUCTION_URL/healthz/ready"] in [argv[:3] for argv in lines()]


@pytest.mark.parametrize("argv", lines(), ids=lambda argv: " ".join(argv[:4]))
def test_each_greenflag_line_parses_against_the_cli(argv: list[str]) -> None:
    reason = check_line(argv)
    if reason:
        pytest.skip(reason)


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="needs actionlint (the test extra)")
def test_actionlint_accepts_the_workflow() -> None:
    result = subprocess.run(["actionlint", "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
