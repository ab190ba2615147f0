"""greenflag.yaml loads as written; errors name the file, line and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenflag.config import load_spec
from greenflag.errors import ConfigError

SPEC = """\
service: contact-app
router:   {kind: embedded, listen: 127.0.0.1:8000, admin: 127.0.0.1:8001, admin_token_file: .greenflag/token}
platform:
  kind: process
  command: "greenflag demo-app --port {port} --version {version}"
  instances: 1
  env: {}
health:
  readiness: {http: /healthz/ready, interval: 1s, failure_threshold: 3}
  liveness:  {http: /healthz/live,  interval: 2s, failure_threshold: 3}
strategy:
  canary:
    steps:
      - set_weight: 10
      - analysis: {duration: 30s}
      - set_weight: 50
      - pause: {duration: 30s}
      - set_weight: 100
analysis:
  interval: 1s
  metrics:
    - {name: error-rate, provider: router, query: error_rate, failure_condition: "result > 0.01"}
    - {name: p95, provider: router, query: p95_ms, failure_condition: "result > 3000"}
hooks:
  before_allow_traffic: ["./migrate up"]
  on_rollback: ["./migrate down"]
notifications:
  - {webhook: "http://127.0.0.1:9999/hook", events: [rollout_completed, rollout_aborted]}
"""


def test_issue_spec_loads_as_written(tmp_path: Path) -> None:
    path = tmp_path / "greenflag.yaml"
    path.write_text(SPEC)
    spec = load_spec(path)
    assert spec.service == "contact-app"
    assert spec.strategy.canary is not None
    assert spec.strategy.canary.steps is not None
    assert len(spec.strategy.canary.steps) == 5
    assert spec.health.liveness is not None and spec.health.liveness.interval == 2.0
    assert [h.run for h in spec.hooks.on_rollback] == ["./migrate down"]


def test_spec_errors_name_file_line_and_key_path(tmp_path: Path) -> None:
    path = tmp_path / "greenflag.yaml"
    bad = SPEC.replace("set_weight: 50", "set_weight: 500").replace("instances: 1", "instances: 1\n  bogus: 3")
    bad = bad.replace("- pause: {duration: 30s}", "- wait: 3")
    path.write_text(bad)
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    text = str(info.value)
    assert f"{path}:7: platform.bogus: unknown key" in text
    assert f"{path}:17: strategy.canary.steps[2].set_weight:" in text
    assert "strategy.canary.steps[3]: a step is one of" in text
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('command: "greenflag demo-app --port {port} --version {version}"',
             """command: "sh -c 'exec app --port {port}" """),
            ":5: platform.command: \"sh -c 'exec app --port {port}\": no closing quotation",
        ),
        (('command: "greenflag demo-app --port {port} --version {version}"', "instances: 2"),
         ":3: platform.command: required key is missing"),
        (('command: "greenflag demo-app --port {port} --version {version}"', 'command: "app --port {prot}"'),
         ":5: platform.command: unknown placeholder {prot}; known: {port}, {version}, {service}, {instance}"),
        (('command: "greenflag demo-app --port {port} --version {version}"', 'command: "app --version {version}"'),
         ":5: platform.command: must contain {port}"),
        (("    steps:\n      - set_weight: 10\n      - analysis: {duration: 30s}\n      - set_weight: 50\n"
          "      - pause: {duration: 30s}\n      - set_weight: 100\n", "    steps: []\n"),
         ":13: strategy.canary.steps: needs at least one step"),
    ],
    ids=["unbalanced quote", "no command", "unknown placeholder", "no {port}", "no steps"],
)  # fmt: skip
def test_a_spec_that_cannot_run_fails_at_load_time(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    path = tmp_path / "greenflag.yaml"
    old, new = change
    assert old in SPEC
    path.write_text(SPEC.replace(old, new))
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    assert f"{path}{expected}" in str(info.value), str(info.value)
    assert info.value.exit_code == 2


def test_a_spec_without_a_platform_names_the_section(tmp_path: Path) -> None:
    """No platform section: an error, not a silent deployment of the reference service."""
    path = tmp_path / "greenflag.yaml"
    start, end = SPEC.index("platform:"), SPEC.index("health:")
    path.write_text(SPEC[:start] + SPEC[end:])
    with pytest.raises(ConfigError, match=r"platform: required key is missing"):
        load_spec(path)
