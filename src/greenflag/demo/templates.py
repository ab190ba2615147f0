"""The reference service's HTML, prepared once per app: static pages are bytes, the contact form a few splices."""

from __future__ import annotations

import html
import string
from collections.abc import Mapping

__all__ = ["Pages", "render_contact_form"]

_LAYOUT = string.Template(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="greenflag-version" content="$version">
<title>$title · greenflag demo</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
nav a{margin-right:1rem}label{display:block;margin-top:.8rem}input,textarea{width:100%;padding:.4rem}
.error{color:#b00020}footer{margin-top:3rem;color:#57606a;font-size:.9rem}</style>
</head>
<body>
<nav><a href="/">Home</a><a href="/about">About</a><a href="/pricing">Pricing</a><a href="/contact">Contact</a></nav>
<main>
<h1>$title</h1>
$body
</main>
<footer>greenflag demo-app · version <span id="version">$version</span></footer>
</body>
</html>
"""
)

_BODIES: dict[str, tuple[str, str]] = {
    "home": (
        "Welcome",
        """<p>This is greenflag's reference service: a small but real web application to release, load-test and
roll back. It has pages, a <a href="/contact">contact form</a> protected by a CSRF token, a JSON API
(<a href="/api/items?page=1">/api/items</a>) and a live <a href="/events">event stream</a>.</p>
<p>Read <a href="/about">about</a> it or see the <a href="/pricing">pricing</a>.</p>""",
    ),
    "about": (
        "About",
        """<p>Every response names the version that served it, so a blue-green switch or a canary split can be
seen from the outside. The service can be told to fail, slow down or crash, to prove that a release
stops when it should.</p>
<p>Back <a href="/">home</a>, or <a href="/contact">get in touch</a>.</p>""",
    ),
    "pricing": (
        "Pricing",
        """<table id="plans"><tr><th>Plan</th><th>Price</th></tr>
<tr><td>Hobby</td><td>free</td></tr><tr><td>Team</td><td>$29 / month</td></tr>
<tr><td>Enterprise</td><td><a href="/contact">talk to us</a></td></tr></table>
<p>See what the service <a href="/about">is about</a>.</p>""",
    ),
    "thanks": (
        "Thank you",
        """<p id="thanks">Your message was stored. We will get back to you.</p>
<p>Back <a href="/">home</a>.</p>""",
    ),
}

_TOKEN = "\x00token\x00"


def _layout(title: str, body: str, version: str) -> str:
    return _LAYOUT.substitute(title=html.escape(title), body=body, version=html.escape(version))


def _form(token: str, values: Mapping[str, str], errors: Mapping[str, str]) -> str:
    def field_error(name: str) -> str:
        message = errors.get(name)
        return f'<p class="error" id="error-{name}">{html.escape(message)}</p>' if message else ""

    def value(name: str) -> str:
        return html.escape(values.get(name, ""), quote=True)

    general = field_error("form")
    return f"""{general}<form id="contact" method="post" action="/contact">
<input type="hidden" name="csrf_token" value="{token}">
<label for="name">Name</label><input id="name" name="name" value="{value("name")}" maxlength="200">
{field_error("name")}<label for="email">Email</label>
<input id="email" name="email" type="email" value="{value("email")}" required>
{field_error("email")}<label for="message">Message</label>
<textarea id="message" name="message" rows="5" required>{html.escape(values.get("message", ""))}</textarea>
{field_error("message")}<p><button type="submit">Send</button></p>
</form>"""


def render_contact_form(
    version: str, token: str, values: Mapping[str, str], errors: Mapping[str, str], title: str = "Contact"
) -> bytes:
    """The contact page with the user's values and the error messages (the 422 re-render)."""
    return _layout(title, _form(html.escape(token, quote=True), values, errors), version).encode()


class Pages:
    """Every page of one app, rendered once: static pages as bytes, the contact page as two halves."""

    __slots__ = ("_contact", "static", "version")

    def __init__(self, version: str) -> None:
        self.version = version
        self.static: dict[str, bytes] = {
            name: _layout(title, body, version).encode() for name, (title, body) in _BODIES.items()
        }
        before, _, after = _layout("Contact", _form(_TOKEN, {}, {}), version).partition(_TOKEN)
        self._contact = (before.encode(), after.encode())

    def contact(self, token: str) -> bytes:
        """The empty contact form carrying `token` (a hex string, so it needs no escaping)."""
        before, after = self._contact
        return before + token.encode() + after
