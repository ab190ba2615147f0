"""The command platform's output contracts: what `launch` and `status` must print. The 10.0.0.x addresses are only
strings parsed here: nothing is sent to them."""

from __future__ import annotations

import pytest

from greenflag.platform.command_output import Launched, Listed, parse_launch, parse_status


def test_the_last_line_is_the_address_anything_before_is_free() -> None:
    out = "pulling image…\nstarting task\nhttp://10.0.3.7:8080\n\n"
    assert parse_launch(out) == Launched("http://10.0.3.7:8080")


def test_json_gives_the_id_that_stop_gets() -> None:
    arn = "arn:aws:ecs:eu-west-1:123456789012:task/shop/4f2a9c1e"
    assert parse_launch(f'log line\n{{"id": "{arn}", "url": "https://10.0.3.7:8443/"}}') == Launched(
        "https://10.0.3.7:8443", arn
    )
    assert parse_launch('{"url": "http://127.0.0.1:9000"}') == Launched("http://127.0.0.1:9000")


def test_an_id_with_shell_metacharacters_is_data() -> None:
    ident = "x; touch pwned $(id) `id` 'q\""
    assert parse_launch('{"id": "x; touch pwned $(id) `id` \'q\\"", "url": "http://h:1"}').id == ident


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("", "printed nothing"),
        ("started\n", "its last line: 'started' is not an address"),
        ("http://10.0.0.1:8080\ndone", "its last line: 'done' is not an address"),
        ('{"url": 5}', "url: 5 is not an address"),
        ('{"id": "a"}', 'JSON without "url"'),
        ('{"id": "a\\nb", "url": "http://h:1"}', "not an instance id"),
        ('{"id": "", "url": "http://h:1"}', "not an instance id"),
        ("{not json", "not valid JSON"),
        ("ftp://10.0.0.1:21", "is not an address"),
    ],
)
def test_a_launch_without_an_address_says_what_was_expected(out: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("$", r"\$")):
        parse_launch(out)


def test_status_lists_instances_as_a_list_or_under_instances() -> None:
    item = {"id": "t-1", "version": "v2", "url": "http://10.0.0.5:80", "state": "RUNNING"}
    expected = [Listed("t-1", "v2", "http://10.0.0.5:80")]
    assert parse_status(f"[{__import__('json').dumps(item)}]") == expected
    assert parse_status(__import__("json").dumps({"instances": [item]})) == expected
    assert parse_status("[]") == []


def test_status_ignores_entries_that_are_not_greenflag_versions() -> None:
    out = '[{"id": "a", "version": "nginx:latest", "url": "http://h:1"}, {"id": "b", "version": "v1", "url": "http://h:2"}]'
    assert parse_status(out) == [Listed("b", "v1", "http://h:2")]


@pytest.mark.parametrize(
    ("out", "message"),
    [("oops", "not JSON"), ('{"a": 1}', "expected a JSON list"), ('[{"id": "a"}]', r"instances\[0\]: expected")],
)
def test_a_malformed_status_is_refused(out: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_status(out)
