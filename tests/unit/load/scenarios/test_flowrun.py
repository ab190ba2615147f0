"""Running YAML journeys: templating, JSON paths, captures and checks."""

from __future__ import annotations

import json

import pytest

from greenflag.load.http.models import Headers, Response
from greenflag.load.http.session import HttpSession
from greenflag.load.metrics.series import Registry
from greenflag.load.scenarios.flowrun import capture_value, check_name, check_passes, json_path, render
from greenflag.load.scenarios.flows import CaptureSpec, CheckSpec


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
