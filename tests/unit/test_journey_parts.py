"""Pure parts of the journey session: cookies, URLs, headers, HTML forms and selectors, the SSE parser."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenflag.load.http.client import parse_target
from greenflag.load.http.html import find_form, select
from greenflag.load.http.models import CookieJar, Headers
from greenflag.load.http.session import default_name, make_tags, resolve_url
from greenflag.load.http.sse import Event, EventParser

PAGE = """<!doctype html><html><body>
<nav><a href="/">Home</a><a class="x" href="/about">About</a></nav>
<span id="version">v1</span>
<form id="contact" method="post" action="/contact">
<input type="hidden" name="csrf_token" value="abc123">
<input name="name" value="">
<input name="email" type="email">
<input type="checkbox" name="news" value="yes" checked>
<input type="checkbox" name="spam" value="yes">
<input name="off" value="z" disabled>
<select name="plan"><option value="hobby">Hobby</option><option value="team" selected>Team</option></select>
<textarea name="message">pre</textarea>
<button type="submit" name="go">Send</button>
</form>
<form id="search" action="/search"><input name="q" value="x"></form>
</body></html>"""


def test_cookie_jar_per_host_and_deletion() -> None:
    jar = CookieJar()
    jar.store("127.0.0.1", "gf_session=abc; Path=/; HttpOnly; SameSite=Lax")
    jar.store("127.0.0.1", 'theme="dark"')
    jar.store("example.com", "other=1")
    assert jar.header("127.0.0.1") == "gf_session=abc; theme=dark"
    jar.store("127.0.0.1", "theme=; Max-Age=0")
    assert jar.header("127.0.0.1") == "gf_session=abc"
    assert jar.get("other") == "1" and jar.header("nowhere") is None
    jar.store("127.0.0.1", "garbage-without-equals")
    assert jar.header("127.0.0.1") == "gf_session=abc"


def test_resolve_url() -> None:
    base = parse_target("http://127.0.0.1:8080")
    target, url = resolve_url(base, None, "/api/items?page=2")
    assert (target.host, target.port, target.path, url) == (
        "127.0.0.1",
        8080,
        "/api/items?page=2",
        "http://127.0.0.1:8080/api/items?page=2",
    )
    assert resolve_url(base, "http://127.0.0.1:8080/contact", "thanks")[1] == "http://127.0.0.1:8080/thanks"
    assert resolve_url(base, None, "/a?b=1#top")[1] == "http://127.0.0.1:8080/a?b=1"
    assert resolve_url(base, None, "relative")[1] == "http://127.0.0.1:8080/relative"
    assert resolve_url(base, None, "//example.com/x")[0].host == "example.com"
    assert resolve_url(None, None, "https://example.com/x")[0].tls
    with pytest.raises(ValueError, match="no host"):
        resolve_url(None, None, "/x")


def test_headers_are_case_insensitive_and_tags_sorted() -> None:
    headers = Headers()
    dict.__setitem__(headers, "content-type", "text/html")
    assert headers["Content-Type"] == "text/html" and "CONTENT-TYPE" in headers
    assert headers.get("Location") is None
    assert make_tags("checkout", {"b": 1, "a": "x"}) == (("a", "x"), ("b", "1"), ("step", "checkout"))
    assert make_tags(None, None) == ()


def test_select() -> None:
    links = select(PAGE, "nav a")
    assert [(e.text, e.attr("href")) for e in links] == [("Home", "/"), ("About", "/about")]
    assert select(PAGE, "#version")[0].text == "v1"
    assert select(PAGE, "table") == []


def test_find_form_keeps_hidden_inputs_and_fills() -> None:
    form = find_form(PAGE, "form#contact")
    assert form is not None
    assert (form.action, form.method) == ("/contact", "POST")
    assert form.fields == [
        ("csrf_token", "abc123"),
        ("name", ""),
        ("email", ""),
        ("news", "yes"),
        ("plan", "team"),
        ("message", "pre"),
    ]
    encoded = form.encode({"email": "a@example.com", "message": "hi", "extra": 1, "news": None}).decode()
    assert dict(parse_qsl(encoded, keep_blank_values=True)) == {
        "csrf_token": "abc123",
        "name": "",
        "email": "a@example.com",
        "plan": "team",
        "message": "hi",
        "extra": "1",
    }
    search = find_form(PAGE, "#search")
    assert search is not None and search.method == "GET"
    assert find_form(PAGE, "form#nope") is None
    with pytest.raises(ValueError, match="not a <form>"):
        find_form(PAGE, "nav")


def test_sse_parser_fields_comments_and_retry() -> None:
    parser = EventParser()
    events = parser.feed(b'retry: 250\n\n: a comment\nid: 7\nevent: tick\ndata: {"a": 1}\n\ndata: x\ndata: y\n\n')
    assert events == [Event("7", "tick", '{"a": 1}'), Event("7", "message", "x\ny")]
    assert events[0].json() == {"a": 1}
    assert parser.retry_ms == 250 and parser.last_id == "7"


def test_sse_parser_skips_a_leading_bom() -> None:
    parser = EventParser()
    assert parser.feed("\ufeffdata: x\n\n".encode()) == [Event(None, "message", "x")]
    assert parser.feed("data: \ufeffy\n\n".encode()) == [Event(None, "message", "\ufeffy")]


def test_sse_parser_crlf_split_across_chunks() -> None:
    parser = EventParser()
    assert parser.feed(b"id: 1\r\ndata: a\r") == []
    assert parser.feed(b"\n\r\n") == [Event("1", "message", "a")]
    assert parser.feed(b"data: b\r\r") == [Event("1", "message", "b")]


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=20))
def test_sse_parser_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    stream = "".join(f"id: {i}\r\nevent: tick\ndata: é{i}\n\n" for i in range(10)).encode()
    parser = EventParser()
    events: list[Event] = []
    position = 0
    for cut in cuts:
        events += parser.feed(stream[position : position + cut])
        position += cut
    events += parser.feed(stream[position:])
    assert events == [Event(str(i), "tick", f"é{i}") for i in range(10)]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://h/api/items/17?x=1", "/api/items/{id}"),
        ("http://h/orders/0123456789abcdef0123/lines", "/orders/{id}/lines"),
        ("http://h/u/123e4567-e89b-12d3-a456-426614174000", "/u/{id}"),
        ("http://h/about", "/about"),
        ("http://h", "/"),
        ("http://h/v2/items", "/v2/items"),
    ],
)
def test_default_request_names_group_ids(url: str, name: str) -> None:
    assert default_name(url) == name
