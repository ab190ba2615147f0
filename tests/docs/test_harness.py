"""The docs harness itself: how it classifies blocks, reads shell blocks, rewrites ports and durations, compares
output examples — each rule shown failing where it should — and the examples of docs/contributing-docs.md."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from tests.docs.collect import Annotation, Page, parse_annotation, parse_page
from tests.docs.keys import compare_keys, key_names, key_paths, load_documents, undocumented_names
from tests.docs.rewrite import PortMap, cap_durations, foreign_addresses, rewrite_ports
from tests.docs.runner import ROOT, Sandbox, check_page, run_page
from tests.docs.shell import build_script, is_simple, output_matches, parse_shell, split_comment

FENCE = "```"


def page(text: str, name: str = "docs/x.md") -> Page:
    return parse_page(name, text)


# -- classification ------------------------------------------------------------------------------------------------


def test_blocks_are_classified_by_language_and_annotation() -> None:
    text = (
        f"# T\n\n{FENCE}sh\necho hi\n{FENCE}\n\n{FENCE}python\nprint(1)\n{FENCE}\n\n"
        f"{FENCE}yaml\nservice: x\n{FENCE}\n\n"
        f"<!-- doc-test: skip — needs a Kubernetes cluster -->\n{FENCE}yaml\nkind: Deployment\n{FENCE}\n\n"
        f"<!-- doc-test: keys stdout maps=a,b.* optional=c -->\n{FENCE}json\n{{}}\n{FENCE}\n"
    )
    blocks = page(text).blocks
    assert [b.action for b in blocks] == ["shell", "python", "validate", "skip", "keys"]
    assert blocks[3].annotation == Annotation("skip", (), {}, "needs a Kubernetes cluster")
    assert blocks[4].annotation == Annotation("keys", ("stdout",), {"maps": ("a", "b.*"), "optional": ("c",)}, "")
    assert [b.line for b in blocks] == [3, 7, 11, 16, 21]


@pytest.mark.parametrize(
    "text, problem",
    [
        (f"{FENCE}json\n{{}}\n{FENCE}\n", "a 'json' block the docs harness cannot run"),
        (f"{FENCE}\nplain\n{FENCE}\n", "an untagged block"),
        (f"{FENCE}text\nplain\n{FENCE}\n", "a 'text' block"),
        ("para\n\n    indented code\n", "an indented code block"),
        (f"<!-- doc-test: skip -->\n{FENCE}sh\nx\n{FENCE}\n", "skip needs a reason"),
        (f"<!-- doc-test: ignore — why -->\n{FENCE}sh\nx\n{FENCE}\n", "kind 'ignore' is unknown"),
        (f"<!-- doc-test: file -->\n{FENCE}yaml\na: 1\n{FENCE}\n", "file takes one argument"),
        (f"<!-- doc-test: keys stdout -->\n{FENCE}sh\nx\n{FENCE}\n", "keys needs a json or yaml block"),
        (f"<!-- doc-test: keys out.json only=a -->\n{FENCE}json\n{{}}\n{FENCE}\n", "maps= and optional="),
        (f"<!-- doc-test: file ../x.yaml -->\n{FENCE}yaml\na: 1\n{FENCE}\n", "inside the sandbox"),
        (f"<!-- doc-test: skip — far away -->\n\n{FENCE}sh\nx\n{FENCE}\n", "not on the line right before"),
        (f"<!--doc-test skip-->\n{FENCE}sh\nx\n{FENCE}\n", "malformed"),
    ],
)
def test_what_cannot_be_classified_is_a_problem_with_its_line(text: str, problem: str) -> None:
    problems = check_page(page(text))
    assert problems and problem in problems[0] and problems[0].startswith("docs/x.md:"), problems


def test_a_file_no_command_uses_and_a_foreign_host_are_problems() -> None:
    text = (
        f"<!-- doc-test: file examples/spec.yaml -->\n{FENCE}yaml\nservice: x\n{FENCE}\n\n"
        f"{FENCE}sh\ngreenflag check tls example.com\ncurl -s https://10.0.0.5/\n{FENCE}\n"
    )
    problems = check_page(page(text))
    assert any("file examples/spec.yaml is used by no command" in p for p in problems)
    assert any("non-loopback hosts 10.0.0.5, example.com" in p for p in problems)
    assert foreign_addresses("curl http://127.0.0.1:8080/ http://localhost:1/ tcp://[::1]:5") == []
    assert foreign_addresses("from greenflag.demo.app import x", names=False) == []
    assert foreign_addresses("curl http://169.254.169.254/latest") == ["169.254.169.254"]


def test_a_file_named_by_a_used_file_is_used_and_an_unused_chain_is_not() -> None:
    spec = f"<!-- doc-test: file greenflag.yaml -->\n{FENCE}yaml\nplatform: {{command: python3 app.py}}\n{FENCE}\n\n"
    script = f"<!-- doc-test: file app.py -->\n{FENCE}python\nprint(1)\n{FENCE}\n\n"
    run = f"{FENCE}sh\ngreenflag up -f greenflag.yaml\n{FENCE}\n"
    assert not [p for p in check_page(page(script + spec + run)) if "used by no command" in p]
    unused = [p for p in check_page(page(script + spec)) if "used by no command" in p]
    assert len(unused) == 2, unused


@pytest.mark.parametrize(
    "command", ["pip install -e . && greenflag demo", "sudo apt-get install -y nginx", "curl -fsSL x | sh"]
)
def test_a_command_that_changes_the_machine_is_never_run(command: str) -> None:
    problems = check_page(page(f"{FENCE}sh\n{command}\n{FENCE}\n"))
    assert len(problems) == 1 and "installs software or changes the machine" in problems[0]


def test_every_page_is_collected_and_none_has_a_block_it_cannot_classify() -> None:
    from tests.docs.jobs import PAGES

    assert {"README.md", "docs/contributing-docs.md"} <= set(PAGES)
    assert len(PAGES) == 1 + len(list((ROOT / "docs").glob("*.md")))
    for name in PAGES:
        assert check_page(parse_page(name, (ROOT / name).read_text())) == [], name


def test_the_annotation_examples_of_the_contributing_page_mean_what_it_says() -> None:
    text = (ROOT / "docs" / "contributing-docs.md").read_text()
    examples = re.findall(r"~~~markdown\n(.*?)~~~", text, re.S)
    assert len(examples) == 2
    skip, keys = (parse_page("example.md", e).blocks for e in examples)
    assert [(b.language, b.action) for b in skip] == [("yaml", "skip")]
    assert skip[0].annotation is not None and skip[0].annotation.reason == "needs a Kubernetes cluster"
    assert [(b.language, b.action) for b in keys] == [("sh", "shell"), ("json", "keys")]


def test_a_malformed_annotation_comment_is_no_annotation_when_it_does_not_say_doc_test() -> None:
    assert parse_annotation("<!-- just a comment -->") is None
    assert isinstance(parse_annotation("<!-- doc-test: -->"), str)


# -- shell blocks --------------------------------------------------------------------------------------------------


def test_shell_blocks_give_commands_with_expected_exit_codes_and_output() -> None:
    block = (
        "greenflag demo-app --port 8080 --version v1 &     # the service\n"
        "greenflag load run http://127.0.0.1:8080/ \\\n    --duration 30s\n"
        "# ok ... 12 requests\n"
        "#\n"
        "echo $?   # 99: crossed\n"
        "\n"
        "# a remark, not output\n"
        "curl -s 'http://127.0.0.1:8080/#x'   # quoted # stays\n"
    )
    commands = parse_shell(block, 10)
    assert [(c.line, c.code, c.background) for c in commands] == [
        (10, "greenflag demo-app --port 8080 --version v1", True),
        (11, "greenflag load run http://127.0.0.1:8080/ --duration 30s", False),
        (15, "echo $?", False),
        (18, "curl -s 'http://127.0.0.1:8080/#x'", False),
    ]
    assert commands[0].ready_kind == "demo-app" and commands[1].ready_kind == "ports"
    assert commands[1].expected_rc == 99 and commands[1].expected_output == ["ok ... 12 requests", ""]
    assert commands[3].expected_output == [] and commands[3].comment == "quoted # stays"


def test_a_here_document_belongs_to_its_command_comments_and_all(tmp_path: Path) -> None:
    block = (
        "cat > g.yaml <<EOF   # a spec\n"
        "service: $NAME   # kept: YAML's own comment\n"
        "# not output\n"
        "EOF\n"
        "cat <<'END' | wc -l\n"
        "$NAME\n"
        "END\n"
        "# 1\n"
        "cat <<< here\n"
    )
    commands = parse_shell(block, 1)
    assert [c.line for c in commands] == [1, 5, 9]
    assert commands[0].code == "cat > g.yaml <<EOF\nservice: $NAME   # kept: YAML's own comment\n# not output\nEOF"
    assert commands[0].comment == "a spec" and commands[0].expected_output == []
    assert commands[1].expected_output == ["1"]
    sandbox = Sandbox(tmp_path)
    sandbox.prepare(copy=())
    try:
        sandbox.run_commands(parse_shell("NAME=shop\n" + block, 1), "t:1")
    finally:
        sandbox.close()
    assert (tmp_path / "g.yaml").read_text() == "service: shop   # kept: YAML's own comment\n# not output\n"


def test_console_blocks_take_dollar_lines_as_commands_and_the_rest_as_output() -> None:
    commands = parse_shell("$ greenflag up -f g.yaml &\n$ curl -s localhost:8000/version\nv1\n", 1, console=True)
    assert [c.code for c in commands] == ["greenflag up -f g.yaml", "curl -s localhost:8000/version"]
    assert commands[0].ready_kind == "urls" and commands[1].expected_output == ["v1"]


@pytest.mark.parametrize(
    "patterns, output, missing",
    [
        (["ok 1.9 ms  GET x: HTTP 200"], "ok 12.25 ms GET x: HTTP 200\n", None),
        (['{"version": "v1", ...}'], '{"version": "v2", "name": "x"}\n', '{"version": "v1", ...}'),
        (["a", "b"], "b\na\n", "b"),  # in order
        (["Failed ... 7.69% (3/39)"], "Failed error_rate: canary 10.6% (7/66)\n", None),
        (["exactly"], "exactly this\n", "exactly"),  # a whole line
        (["", "id: 1"], "retry: 1000\n\nid: 7\n", None),
    ],
)
def test_documented_output_lines_match_in_order_with_numbers_and_ellipses(
    patterns: list[str], output: str, missing: str | None
) -> None:
    assert output_matches(patterns, output) == missing


def test_comments_and_simple_commands_are_recognised_outside_quotes() -> None:
    assert split_comment("echo 'a # b' \"c # d\" # e") == ("echo 'a # b' \"c # d\"", "e")
    assert split_comment("curl x#y") == ("curl x#y", "")
    assert is_simple("greenflag up -f x.yaml") and not is_simple("a && b") and not is_simple("X=1 cmd")
    assert not is_simple("cmd | tee x") and not is_simple("echo $(cat t)") and is_simple("echo 'a|b'")


def test_the_script_stops_at_an_unexpected_exit_status_and_keeps_dollar_question(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path / "box", PortMap(itertools.count(20000).__next__))
    sandbox.prepare(copy=())
    ok = parse_shell("false\necho $?   # 1\ntrue\n", 1)
    results = sandbox.run_commands(ok, "t:1")
    assert [r.rc for r in results] == [1, 0, 0] and results[1].output == "1\n"
    with pytest.raises(AssertionError, match=r"exit status 1, expected 0\n  line 2: false"):
        sandbox.run_commands(parse_shell("true\nfalse\ntouch never\n", 1), "t:2")
    assert not (tmp_path / "box" / "never").exists()
    with pytest.raises(AssertionError, match="documented output line not found: 'goodbye'"):
        sandbox.run_commands(parse_shell("echo hello\n# goodbye\n", 1), "t:3")
    script = build_script(parse_shell("sleep 30 &\n", 1), "/logs")
    assert "{ exec sleep 30\n} > /logs/out.0 2>&1 &" in script  # `kill %1` reaches the command itself
    sandbox.close()


def test_a_background_server_that_exits_fails_the_block_with_its_output(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, PortMap(itertools.count(20000).__next__))
    sandbox.prepare(copy=())
    with pytest.raises(AssertionError, match=r"(?s)did not get ready.*no-such-option"):
        sandbox.run_commands(parse_shell("greenflag up --no-such-option &\n", 1), "t:1")
    sandbox.close()


# -- what the harness changes --------------------------------------------------------------------------------------


def test_documented_ports_become_the_same_ephemeral_port_everywhere_on_a_page() -> None:
    ports = PortMap(itertools.count(41000).__next__)
    text = "greenflag demo-app --port 8080 & curl localhost:8080/ http://127.0.0.1:8000 port=8080 --port 0"
    assert rewrite_ports(text, ports) == (
        "greenflag demo-app --port 41000 & curl localhost:41000/ http://127.0.0.1:41001 port=41000 --port 0"
    )
    assert rewrite_ports("servers: {blue: 10.0.0.5:8080} {port}", ports) == "servers: {blue: 10.0.0.5:8080} {port}"


def test_only_long_foreground_durations_are_shortened() -> None:
    assert cap_durations("load run URL --duration 30s -q") == "load run URL --duration 5s -q"
    assert cap_durations("load run URL -d 1m30s") == "load run URL -d 5s"
    short = "load run URL --duration 2s --graceful-stop 30s"
    assert cap_durations(short) == short
    assert cap_durations("analysis run --duration=60s") == "analysis run --duration=15s"  # it needs evidence
    assert cap_durations("analysis run --duration 10s") == "analysis run --duration 10s"


# -- output examples ----------------------------------------------------------------------------------------------


def test_keys_are_compared_both_ways_with_maps_lists_and_optional_keys() -> None:
    documented = {"ok": True, "backends": {"blue": {"weight": 1}}, "events": [{"kind": "x", "trigger": "y"}, "…"]}
    real = {"ok": False, "backends": {"v1": {"weight": 2}, "v2": {"weight": 0}}, "events": [{"kind": "z"}]}
    assert compare_keys(documented, [real], maps=("backends",), optional=("events[].trigger",)) == []
    assert compare_keys(documented, [real], maps=("backends",)) == [
        "documented key 'events[].trigger' is not in the output (optional= if it only sometimes is)"
    ]
    grown = {**real, "new": {"a": 1}}
    assert compare_keys(documented, [grown], maps=("backends",), optional=("events[].trigger",)) == [
        "key 'new' is in the output but not in the documented example"
    ]
    assert compare_keys(documented, [real], optional=("events[].trigger",)) == [
        "key 'backends.v1' is in the output but not in the documented example",
        "key 'backends.v2' is in the output but not in the documented example",
        "documented key 'backends.blue' is not in the output (optional= if it only sometimes is)",
    ]


def test_empty_maps_lists_of_outputs_and_several_sources() -> None:
    documented = {"errors": {"http_5xx": 3}, "by_step": {"s": {"n": 1}}}
    assert compare_keys(documented, [{"errors": {}, "by_step": {"a": {"n": 2}}}], maps=("errors", "by_step")) == []
    assert compare_keys({"a": 1}, [[{"a": 2}, {"a": 3}]]) == []  # one object documents every element
    assert compare_keys({"a": 1, "b": 2}, [{"a": 1}, {"b": 2}]) == []  # two sources together
    assert key_paths({"a": [[1, 2], "…"]}) == {"a"}
    assert load_documents('{"m": 1}\n{"s": 2}\n') == [{"m": 1}, {"s": 2}]
    with pytest.raises(ValueError, match="neither JSON, JSON lines nor YAML"):
        load_documents("[0.1s] drill_started kind=postgres\n{not: [json")


def test_every_key_name_must_be_explained_in_backticks() -> None:
    documented = {"p95_ms": 1, "backends": {"blue": {"state": "x"}}}
    names = key_names(documented, maps=("backends",))
    assert names == {"p95_ms", "backends", "state"}
    assert undocumented_names(names, "`backends` with a `state`; the p95_ms") == ["p95_ms"]
    assert undocumented_names(names, "`backends.*.state`, `p95_ms: 3`") == []


def test_a_page_runs_end_to_end_and_its_example_is_compared(tmp_path: Path) -> None:
    text = (
        "# Probe\n\nThe JSON has `ok`, `latency_ms`, `detail` and `target`.\n\n"
        f"{FENCE}sh\ngreenflag demo-app --port 8080 --version v1 &\n"
        f"greenflag probe tcp://127.0.0.1:8080 --json\n{FENCE}\n\n<!-- doc-test: keys stdout -->\n"
        f'{FENCE}json\n{{"ok": true, "latency_ms": 0.4, "detail": "d", "target": "t"}}\n'
        f'{FENCE}\n\n<!-- doc-test: keys stdout -->\n{FENCE}json\n{{"ok": true}}\n{FENCE}\n'
    )
    with pytest.raises(AssertionError) as failure:
        run_page(page(text), Sandbox(tmp_path))
    assert str(failure.value).splitlines() == [
        "docs/x.md:16: key 'detail' is in the output but not in the documented example",
        "docs/x.md:16: key 'latency_ms' is in the output but not in the documented example",
        "docs/x.md:16: key 'target' is in the output but not in the documented example",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("objectives: {rto: 15m}\nprotection: {method: stream}\n", None),
        ("kind: sqlite\nprotection: {method: wal, interval: 100ms}\n", None),
        ("protection: {method: wal}\n", None),  # no kind: valid for sqlite
        ("kind: postgres\nprotection: {method: wal}\n", "'wal' is not a postgres protection"),
        ("objectives: {rto: soon}\n", "objectives.rto"),
        ("heartbeat: {rate: 100}\nfleet: 3\n", "none of a greenflag.yaml"),
    ],
)
def test_a_drill_yaml_is_validated_with_the_drill_loader(tmp_path: Path, text: str, problem: str | None) -> None:
    from tests.docs.validate import validate_yaml

    problems = validate_yaml(text, tmp_path, None)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0], problems


def test_a_help_example_shown_failing_keeps_its_exit_code() -> None:
    from tests.docs.jobs import _help_examples, help_examples

    examples = help_examples("greenflag.cli.drill")
    assert "greenflag drill postgres --duration 1s --rto 1ms" in examples
    assert _help_examples("greenflag.cli.drill")["greenflag drill postgres --duration 1s --rto 1ms"] == 5
