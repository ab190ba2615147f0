"""The upstream file: weight 0 is `down`, the header route map, the generation, and reading back only what greenflag
itself rendered; names and addresses that nginx's syntax could not hold are refused."""

from __future__ import annotations

import dataclasses

import pytest

from greenflag.traffic.nginx_conf import UpstreamState, generation_of, parse_upstream, render_upstream

STATE = UpstreamState(
    upstream="app",
    route_header="X-Greenflag-Route",
    slots={"blue": "127.0.0.1:9001", "green": "127.0.0.1:9002"},
    weights={"blue": 90, "green": 0},
    names={"v1": "blue", "v2": "green"},
)


def test_weighted_upstream_with_weight_0_as_down_and_one_upstream_per_slot() -> None:
    text = render_upstream(STATE)
    assert "upstream app {\n    server 127.0.0.1:9001 weight=90;  # blue\n    server 127.0.0.1:9002 down;" in text
    assert "upstream app__green {\n    server 127.0.0.1:9002;\n    keepalive 16;\n}" in text
    assert "map $http_x_greenflag_route $greenflag_app_upstream {\n    default app;\n" in text
    assert "    v2 app__green;\n" in text and "    blue app__blue;\n" in text


def test_a_pinned_route_takes_every_request_carrying_the_header() -> None:
    text = render_upstream(dataclasses.replace(STATE, pinned="green"))
    assert 'map $http_x_greenflag_route $greenflag_app_upstream {\n    "" app;\n    default app__green;\n}' in text


def test_the_generation_changes_with_any_content_and_is_read_back() -> None:
    a, b = render_upstream(STATE), render_upstream(dataclasses.replace(STATE, weights={"blue": 89, "green": 1}))
    assert generation_of(a) != generation_of(b) and len(generation_of(a) or "") == 16
    assert f'$greenflag_app_generation {{\n    default "{generation_of(a)}";\n}}\n' in a


def test_reading_back_is_only_greenflag_s_exact_rendering() -> None:
    text = render_upstream(STATE)
    assert parse_upstream(text) == STATE
    assert parse_upstream(text.replace("weight=90", "weight=9")) is None  # edited by hand
    assert parse_upstream(text[: len(text) // 2]) is None  # cut short
    assert parse_upstream("upstream app { server 127.0.0.1:1; }\n") is None  # not greenflag's
    assert parse_upstream(text.replace('"weights":{"blue":90', '"weights":{"blue":"x"')) is None


@pytest.mark.parametrize(
    "change",
    [
        {"names": {"v1; }": "blue"}},
        {"names": {"default": "blue"}},  # a word a map block reserves
        {"names": {"v1": "red"}},
        {"slots": {"blue": "127.0.0.1:9001; include /etc/passwd", "green": "127.0.0.1:9002"}},
        {"upstream": "app { }"},
        {"route_header": "X-Route\n"},
        {"weights": {"blue": -1, "green": 0}},
        {"weights": {"blue": 1}},
        {"pinned": "red"},
    ],
)
def test_what_nginx_s_syntax_cannot_hold_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        render_upstream(dataclasses.replace(STATE, **change))  # type: ignore[arg-type]
