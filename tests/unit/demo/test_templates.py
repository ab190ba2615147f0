"""The reference service's pages (pure)."""

from __future__ import annotations

from greenflag.demo.templates import Pages, render_contact_form


def test_pages_carry_the_version_and_the_contact_token() -> None:
    pages = Pages("v9<x>")
    for name in ("home", "about", "pricing", "thanks"):
        assert b'<span id="version">v9&lt;x&gt;</span>' in pages.static[name]
    token = "ab" * 32
    body = pages.contact(token)
    assert f'name="csrf_token" value="{token}"'.encode() in body
    assert body == render_contact_form("v9<x>", token, {}, {})
    again = render_contact_form("v1", token, {"email": '"><script>'}, {"email": "bad <email>"})
    assert b"&quot;&gt;&lt;script&gt;" in again and b"bad &lt;email&gt;" in again and b"<script>" not in again
