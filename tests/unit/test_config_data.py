"""The `migrations:` and `cdn:` sections of greenflag.yaml load as written; commands become argument lists when the
file is loaded; every error names the file, the line and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenflag.config import load_spec
from greenflag.errors import ConfigError

SPEC = """\
service: shop
strategy: {canary: {steps: [{set_weight: 50}]}}
platform: {command: "./shop --port {port}"}
migrations:
  up: alembic upgrade head
  down: [alembic, downgrade, "-1"]
  check: {run: "python3 check_schema.py --table 'order items'", timeout: 30s}
  timeout: 10m
  env: {DATABASE_URL: "postgresql://app@127.0.0.1/shop"}
  guard:
    checks:
      - {http: /api/orders, expect_status: [200], failure_threshold: 2, interval: 500ms}
      - {exec: [./smoke-old.sh, "{target}"], timeout: 10s}
    timeout: 1m
cdn:
  cloudfront: {distribution_id: E2QWRUHEXAMPLE, paths: ["/index.html", "/assets/*"], timeout: 10m}
  purge:
    - {url: "http://127.0.0.1:6081/", method: PURGE}
    - {url: "http://127.0.0.1:6081/", method: BAN, headers: {X-Ban-Url: "^/assets/"}, expect_status: [200]}
  when: [promote, rollback]
  delay: 2s
"""


def load(tmp: Path, text: str) -> object:
    path = tmp / "greenflag.yaml"
    path.write_text(text)
    return load_spec(path)


def errors(tmp: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp, text)
    assert info.value.exit_code == 2
    return "\n".join([str(info.value), *info.value.problems])


def test_the_sections_load_as_written(tmp_path: Path) -> None:
    spec = load_spec((tmp_path / "greenflag.yaml", (tmp_path / "greenflag.yaml").write_text(SPEC))[0])
    m, cdn = spec.migrations, spec.cdn
    assert m is not None and cdn is not None and m.guard is not None and cdn.cloudfront is not None
    assert m.up.run == ("alembic", "upgrade", "head") and m.down.run == ("alembic", "downgrade", "-1")
    assert m.check is not None and m.check.run == ("python3", "check_schema.py", "--table", "order items")
    assert m.timeout_of(m.up) == 600.0 and m.timeout_of(m.check) == 30.0
    assert [c.http or c.exec for c in m.guard.checks] == ["/api/orders", ["./smoke-old.sh", "{target}"]]
    assert m.guard.baseline and m.guard.timeout == 60.0
    assert cdn.cloudfront.paths == ["/index.html", "/assets/*"] and cdn.cloudfront.wait
    assert [p.method for p in cdn.purge] == ["PURGE", "BAN"] and cdn.delay == 2.0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("up: alembic upgrade head", 'up: "alembic upgrade \'head"'),
         """:5: migrations.up: "alembic upgrade 'head": no closing quotation (quote arguments as a shell would)"""),
        (("up: alembic upgrade head", "up: ''"), ":5: migrations.up: the command is empty"),
        (("up: alembic upgrade head", "up: 42"), ":5: migrations.up: expected a command (a string or a list"),
        (("  timeout: 10m\n", "  timeout: 10m\n  retries: 3\n"), ":9: migrations.retries: unknown key"),
        (("  down: [alembic, downgrade, \"-1\"]\n", ""), ":4: migrations.down: required key is missing"),
        (("    timeout: 1m", "    timeout: 1m\n    samples: 3"), ":15: migrations.guard.samples: unknown key"),
        (("      - {exec: [./smoke-old.sh, \"{target}\"], timeout: 10s}", "      - {timeout: 10s}"),
         ":13: migrations.guard.checks[1]: a probe needs exactly one of http"),
        (("E2QWRUHEXAMPLE", "e2-lower"), ":16: cdn.cloudfront.distribution_id: String should match pattern"),
        (('"/assets/*"]', '"assets/*"]'), ":16: cdn.cloudfront.paths: a path starts with '/'"),
        (("method: PURGE", "method: 'PURGE /'"), ":18: cdn.purge[0].method: String should match pattern"),
        (("when: [promote, rollback]", "when: [deploy]"), ":20: cdn.when[0]: Input should be 'promote' or 'rollback'"),
        (("  delay: 2s", "  delay: soon"), ":21: cdn.delay: 'soon' is not a duration"),
    ],
)  # fmt: skip
def test_errors_name_file_line_and_key_path(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in SPEC
    text = errors(tmp_path, SPEC.replace(old, new, 1))
    assert f"{tmp_path / 'greenflag.yaml'}{expected}" in text, text


def test_a_cdn_section_needs_something_to_invalidate(tmp_path: Path) -> None:
    bare = SPEC.split("cdn:")[0] + "cdn: {delay: 1s}\n"
    assert f"{tmp_path / 'greenflag.yaml'}:15: cdn: give cloudfront, purge, or both" in errors(tmp_path, bare)
