"""What a journey's HTTP session hands out and keeps: response `Headers`, the per-host `CookieJar` and `Response`.

Plain models with no I/O of their own: a `Response` submits a form through the `Requester` (the session) that
fetched it.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlencode, urljoin, urlsplit

from greenflag.load.http.html import Element, Form, find_form, select

__all__ = ["FORM_CONTENT_TYPE", "CookieJar", "Headers", "Requester", "Response"]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class Headers(dict[str, str]):
    """Response headers; names are case-insensitive (stored lower-case), repeated headers joined with ', '."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


class CookieJar:
    """Cookies per host (ports share cookies, as in browsers). Domain and Path attributes are not modelled: a
    cookie goes back to every path of the host that set it. `Max-Age=0` (or a negative one) deletes it."""

    __slots__ = ("by_host",)

    def __init__(self) -> None:
        self.by_host: dict[str, dict[str, str]] = {}

    def store(self, host: str, set_cookie: str) -> None:
        first, _, attrs = set_cookie.partition(";")
        name, sep, value = first.partition("=")
        name = name.strip()
        if not sep or not name:
            return
        expired = False
        for attr in attrs.split(";"):
            key, _, raw = attr.strip().partition("=")
            if key.lower() == "max-age" and raw.strip().lstrip("-").isdigit():
                expired = int(raw.strip()) <= 0
        jar = self.by_host.setdefault(host, {})
        if expired:
            jar.pop(name, None)
        else:
            jar[name] = value.strip().strip('"')

    def header(self, host: str) -> str | None:
        jar = self.by_host.get(host)
        if not jar:
            return None
        return "; ".join(f"{k}={v}" for k, v in jar.items())

    def get(self, name: str, host: str | None = None) -> str | None:
        for jar_host, jar in self.by_host.items():
            if (host is None or host == jar_host) and name in jar:
                return jar[name]
        return None


class Requester(Protocol):
    """What a `Response` needs of the session that fetched it: sending the next request (`HttpSession.request`)."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        name: str | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Response: ...


class Response:
    """What a request got: `.status` (0 on a network error, then `.error` names it), `.headers`, `.text`,
    `.json()`, `.css()`, `.form()`, `submit_form()`; `.history` lists the redirect responses before it."""

    __slots__ = ("body", "error", "headers", "history", "method", "name", "session", "status", "url")

    def __init__(
        self, session: Requester, method: str, url: str, name: str, status: int, headers: Headers, body: bytes
    ) -> None:
        self.session = session
        self.method = method
        self.url = url
        self.name = name
        self.status = status
        self.headers = headers
        self.body = body
        self.error: str | None = None
        self.history: list[Response] = []

    def __repr__(self) -> str:
        return f"<Response {self.method} {self.url} {self.status or self.error}>"

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    def css(self, selector: str) -> list[Element]:
        return select(self.text, selector)

    def form(self, selector: str = "form") -> Form:
        found = find_form(self.text, selector)
        if found is None:
            raise LookupError(f"no form matches {selector!r} on {self.url} (status {self.status})")
        return found

    async def submit_form(
        self,
        selector: str = "form",
        fields: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Response:
        """Submit the form like a browser: its own fields (hidden CSRF token included) completed by `fields`,
        to its action (relative to this page), with the session's cookies; redirects are followed."""
        form = self.form(selector)
        action = urljoin(self.url, form.action or self.url)
        encoded = urlencode(form.fill(dict(fields or {})))
        if form.method == "POST":
            return await self.session.request(
                "POST", action, name=name, body=encoded.encode(), content_type=FORM_CONTENT_TYPE, tags=tags
            )
        joined = action.split("#", 1)[0]
        separator = "&" if urlsplit(joined).query else "?"
        return await self.session.request("GET", joined + separator + encoded, name=name, tags=tags)
