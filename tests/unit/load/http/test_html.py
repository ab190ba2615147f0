"""HTML helpers for journeys: CSS selectors and forms."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from greenflag.load.http.html import find_form, select

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
