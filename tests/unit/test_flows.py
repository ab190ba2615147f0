"""YAML journeys: validation (file:line and key path), templating, JSON paths, captures and checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenflag.errors import ConfigError, UsageError
from greenflag.load.http.models import Headers, Response
from greenflag.load.http.session import HttpSession
from greenflag.load.metrics.series import Registry
from greenflag.load.scenarios.flowrun import capture_value, check_name, check_passes, json_path, load_yaml_flows, render
from greenflag.load.scenarios.flows import CaptureSpec, CheckSpec
from greenflag.load.scenarios.user import task_table

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flows.yaml"
    path.write_text(text)
    return path


def test_example_file_loads() -> None:
    loaded = load_yaml_flows(ROOT / "examples" / "journeys.yaml", host="http://127.0.0.1:8080")
    (cls,) = loaded.classes
    assert [w for _, w in task_table(cls)] == [5, 2, 3, 1]
    assert loaded.options.vus == 10 and "checks" in loaded.thresholds
    assert loaded.custom_metrics


ONE_STEP = "flows:\n  - name: a\n    steps:\n      - "
BAD_FILES = [
    (ONE_STEP + "get: {url: /, chek: 1}\n", r"flows\.yaml:4: flows\[0\]\.steps\[0\]\.get\.chek: unknown key"),
    (ONE_STEP + "get: {url: /}\n        think: 1\n", r"flows\.yaml:4: flows\[0\]\.steps\[0\]: a step is exactly"),
    ("flows:\n  - name: a\n    weight: 0\n    steps: [{think: 1}]\n", r"flows\.yaml:3: flows\[0\]\.weight"),
    ("flows: []\n", r"flows: List should have at least 1 item"),
    ("config:\n  wait_time: {between: [2, 1]}\n" + ONE_STEP + "think: 1\n", r"config\.wait_time"),
    (ONE_STEP + "get: {url: /, capture: {as: x}}\n", r"capture needs exactly one of"),
    (ONE_STEP + "get: {url: /, check: {name: x}}\n", r"a check needs one of"),
    ("flows:\n  - name: a\n    steps: [{think: 1}]\n  - name: a\n    steps: [{think: 1}]\n", r"names must be unique"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_validation_errors_name_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_yaml_flows(write(tmp_path, text), host="http://127.0.0.1:1")
    assert err.match(expected)


def test_options_feeders_and_host_errors(tmp_path: Path) -> None:
    steps = "flows:\n  - name: a\n    steps: [{think: 1}]\n"
    with pytest.raises(UsageError, match=r"flows\.yaml:2: config: options\.vu: unknown option"):
        load_yaml_flows(write(tmp_path, "config:\n  options: {vu: 1}\n" + steps), host="http://h")
    with pytest.raises(ConfigError, match=r"flows\.yaml:2: config\.feeders: .*missing\.csv: cannot read"):
        load_yaml_flows(write(tmp_path, "config:\n  feeders: {u: {path: missing.csv}}\n" + steps), host="http://h")
    with pytest.raises(UsageError, match="no host"):
        load_yaml_flows(write(tmp_path, steps), host=None)


def test_render() -> None:
    variables = {"token": "abc", "n": 3, "row.email": "a@example.com"}
    assert render("/items/{{ n }}?t={{token}}", variables) == "/items/3?t=abc"
    assert render({"count": "{{ n }}", "list": ["{{ row.email }}"]}, variables) == {
        "count": 3,
        "list": ["a@example.com"],
    }
    assert len(render("{{ uuid }}", {})) == 36
    with pytest.raises(KeyError, match="no such variable"):
        render("{{ missing }}", variables)


def test_json_path() -> None:
    data = {"items": [{"id": 4, "tags": ["a"]}], "a b": 1}
    assert json_path(data, "$.items[0].id") == 4
    assert json_path(data, "items[0].tags[0]") == "a"
    assert json_path(data, "$['a b']") == 1
    assert json_path(data, "$") == data
    missing = json_path(data, "$.items[3].id")
    assert missing is json_path(data, "$.nope")
    with pytest.raises(ValueError, match="cannot parse"):
        json_path(data, "$.items[x]")


def response(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    hdrs = Headers()
    for key, value in (headers or {}).items():
        dict.__setitem__(hdrs, key.lower(), value)
    session = HttpSession(Registry(start=0.0), None)
    return Response(session, "GET", "http://h/x", "x", status, hdrs, body.encode())


def capture(**kwargs: object) -> CaptureSpec:
    return CaptureSpec.model_validate(kwargs)


def test_captures() -> None:
    page = response('<form id="f"><input type="hidden" name="t" value="tok"><input name="q"></form><p>id=42</p>')
    assert capture_value(page, capture(css="input[name=t]", attr="value", **{"as": "t"})) == {"t": "tok"}
    assert capture_value(page, capture(css="p", **{"as": "p"})) == {"p": "id=42"}
    assert capture_value(page, capture(regex=r"id=(\d+)", **{"as": "id"})) == {"id": "42"}
    assert capture_value(page, capture(form="#f", **{"as": "f"})) == {"f.t": "tok", "f.q": ""}
    assert capture_value(page, capture(css="table", **{"as": "x"})) == {}
    api = response(json.dumps({"items": [{"id": 7}]}), headers={"Location": "/items/7"})
    assert capture_value(api, capture(json="$.items[0].id", **{"as": "id"})) == {"id": 7}
    assert capture_value(api, capture(header="location", **{"as": "loc"})) == {"loc": "/items/7"}
    assert capture_value(page, capture(json="$.a", **{"as": "a"})) == {}


def test_checks() -> None:
    api = response(json.dumps({"count": 3, "items": []}), status=201)

    def check(**kwargs: object) -> CheckSpec:
        return CheckSpec.model_validate(kwargs)

    assert check_passes(check(status=201), api, {})
    assert check_passes(check(status=[200, 201], json="$.count", equals="{{ n }}"), api, {"n": 3})
    assert not check_passes(check(status=200), api, {})
    assert not check_passes(check(json="$.missing"), api, {})
    assert check_passes(check(contains='"count"', not_contains="error"), api, {})
    assert not check_passes(check(css="table"), response("<p>x</p>"), {})
    assert check_name(check(status=201), "create") == "create status 201"
    assert check_name(check(status=201, name="created"), "create") == "created"
