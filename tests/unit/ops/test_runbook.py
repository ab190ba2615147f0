"""Runbooks from a spec: the commands for that spec, every greenflag line valid for the real CLI, and values with
shell metacharacters that stay single literal arguments (checked by parsing here; by running bash in
tests/e2e/test_runbook_cli.py)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from greenflag.config import load_spec
from greenflag.ops.alert_rules import ALERTS, runbook_anchor
from greenflag.ops.runbooks import runbooks
from greenflag.ops.shell import Var, cell, cmd, code, fence
from greenflag.spec import Spec
from tests.clilines import check_line, greenflag_commands

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "greenflag.yaml"
NASTY = 'we\'ird $(touch PWNED) `touch PWNED2`; echo "x" | ```'


def sh_blocks(markdown: str) -> list[str]:
    return [t.content for t in MarkdownIt().parse(markdown) if t.type == "fence" and t.info == "sh"]


def tricky_spec() -> Spec:
    spec = Spec.model_validate({
        "service": "shop-api",
        "router": {"admin_token_file": f"tokens/{NASTY}", "admin": "0.0.0.0:9101", "listen": "127.0.0.1:9100"},
        "platform": {"command": "app --port {port} | ```"},
        "state_dir": f"state {NASTY}",
        "strategy": {"canary": {"steps": [{"set_weight": 20}, {"pause": {}}, {"analysis": {"duration": "1m"}}]}},
        "analysis": {"metrics": [{"name": "err|``rate", "query": "error_rate", "failure_condition": "result > 0.02"}]},
        "hooks": {"on_rollback": [f"echo '{NASTY}'; touch PWNED3 #"], "before_allow_traffic": ["./smoke.sh"]},
        "load": {"scenario": "load/journeys.py", "host": "http://127.0.0.1:9100", "vus": 5, "duration": "20s",
                 "thresholds": {"http_req_failed": ["rate<0.02"], "http_req_duration": ["p(95)<800"]}},
    })  # fmt: skip
    spec.source = Path(f"deploy/{NASTY}/greenflag.yaml")
    return spec


def all_lines(pages: dict[str, str]) -> list[list[str]]:
    return [argv for text in pages.values() for block in sh_blocks(text) for argv in greenflag_commands(block)]


def test_example_runbooks_name_the_spec_and_parse_against_the_cli() -> None:
    path = "examples/greenflag.yaml"
    pages = runbooks(load_spec(EXAMPLE), path)
    assert set(pages) == {"README.md", "deployment.md", "rollback.md", "incident-response.md", "dr-restore.md"}
    lines = all_lines(pages)
    joined = {shlex.join(argv) for argv in lines}
    for expected in (
        "greenflag rollout start --version $VERSION --wait -f examples/greenflag.yaml",
        "greenflag rollout abort -f examples/greenflag.yaml",
        "greenflag rollout undo --wait -f examples/greenflag.yaml",
        "greenflag up -f examples/greenflag.yaml",
        "greenflag probe http://127.0.0.1:8000/healthz/ready",
        "greenflag router set-weights $STABLE=100 $CANARY=0 --admin http://127.0.0.1:8001 "
        "--admin-token-file examples/.greenflag/token",
    ):
        assert shlex.join(shlex.split(expected)) in joined, expected
    skipped = {}
    for argv in lines:
        reason = check_line(argv)
        if reason:
            skipped[shlex.join(argv)] = reason
    # Only commands being added in parallel are left unchecked.
    assert all(("check" in line or "drill" in line) for line in skipped), skipped
    assert "contact-app" in pages["README.md"]
    # the example relies on the built-in rules: the deployment page names them with the spec's own limits
    assert "| error_rate (built in) | router | canary vs stable | error rate worse than stable + 1 %" in (
        pages["deployment.md"]
    )


def test_every_alert_has_its_runbook_section() -> None:
    text = runbooks(load_spec(EXAMPLE), "greenflag.yaml")["incident-response.md"]
    tokens = MarkdownIt().parse(text)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"]
    assert headings == [a.name for a in ALERTS]
    assert all(runbook_anchor(a.name) == a.name.lower() for a in ALERTS)  # GitHub's anchor for a one-word heading


def test_tricky_values_stay_single_arguments_and_fences_hold() -> None:
    spec = tricky_spec()
    pages = runbooks(spec, str(spec.source))
    for name, text in pages.items():
        # Every fence the generator opened is still one fence: no value closed it early.
        opened = len(re.findall(r"^`{3,}sh$", text, flags=re.M))
        assert opened == len(sh_blocks(text)), name
    lines = all_lines(pages)
    assert lines
    for argv in lines:
        assert argv[argv.index("-f") + 1] == str(spec.source) if "-f" in argv else True
        check_line(argv)
    token = f"deploy/{NASTY}/tokens/{NASTY}"
    admin = [a for a in lines if "--admin" in a]
    assert admin and all(a[a.index("--admin-token-file") + 1] == token for a in admin)
    assert all(a[a.index("--admin") + 1] == "http://127.0.0.1:9101" for a in admin)  # 0.0.0.0 → loopback
    rollback = pages["rollback.md"]
    hook_lines = [b for b in sh_blocks(rollback) if "GREENFLAG_HOOK=on_rollback" in b]
    assert len(hook_lines) == 1
    inner = hook_lines[0].strip().removeprefix("(").removesuffix(")")
    lexer = shlex.shlex(inner, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)
    assert tokens[:2] == ["cd", f"deploy/{NASTY}"] and tokens[2] == "&&"
    assert tokens[-3:] == ["sh", "-c", spec.hooks.on_rollback[0].run]
    deployment = pages["deployment.md"]
    load = next(a for a in lines if a[:3] == ["greenflag", "load", "run"])
    assert load[3] == f"deploy/{NASTY}/load/journeys.py"
    assert load[load.index("--duration") + 1] == "20s"  # as the CLI parses it
    assert load[load.index("http_req_duration: p(95)<800") - 1] == "--threshold"
    assert "result > 0.02" in deployment  # a metric of analysis.metrics, with its condition
    assert "err\\|``rate" in deployment  # the pipe escaped for the table, the backticks inside a longer span
    assert "pause until `greenflag rollout promote`" in deployment  # a pause without duration needs a person
    assert "greenflag rollout promote -f" in deployment


@pytest.mark.parametrize("text", ["plain", "a`b", "``x``", "`", "x | y", "ends`"])
def test_inline_code_spans_survive_backticks(text: str) -> None:
    html = MarkdownIt().render(code(text))
    assert "<code>" in html
    rendered = MarkdownIt().parse(code(text))[1].children[0].content  # type: ignore[index]
    assert rendered == text
    table = MarkdownIt().enable("table").render(f"| a |\n|---|\n| {cell(text)} |\n")
    assert "<td><code>" in table


def test_cmd_quotes_everything_but_placeholders() -> None:
    line = cmd("greenflag", "rollout", "start", "--version", Var("VERSION"), "-f", "a b;c")
    assert line == "greenflag rollout start --version \"$VERSION\" -f 'a b;c'"
    assert shlex.split(cmd("env", Var("X", prefix="K="), Var("Y", "=1"))) == ["env", "K=$X", "$Y=1"]
    body = "echo ```\nx"
    block = fence(body)
    assert MarkdownIt().parse(block)[0].content == body + "\n"
