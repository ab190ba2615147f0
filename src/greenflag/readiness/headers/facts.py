"""What the headers check collects, as plain data, and the pure helpers that read it (header lists, cookies).

Two sessions start like MDN HTTP Observatory's retriever: one from the http:// URL and one from the https:// URL,
each following up to 10 redirects (301, 302, 303, 307, 308) and keeping every hop's URL and status and the cookies
set on the way. A session whose certificate did not verify is retried without verification and marked
`verified=False`. The https session's last response is the page graded ("auto"), the http one when there is no
HTTPS; a CORS preflight (OPTIONS with an Origin) goes to the graded page's final URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from greenflag.readiness.urltext import host_of, path_of

__all__ = [
    "HTML_TYPES",
    "Cookie",
    "Facts",
    "HttpResponse",
    "Outcome",
    "PageMeta",
    "ScriptTag",
    "Session",
    "build_jar",
    "parse_set_cookie",
]

__pure__ = True

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# Node's HTTP parser keeps only the first of these when a response repeats them, and joins every other repeated
# header with ", " (what the Observatory's analyzers then read).
_FIRST_ONLY = frozenset({
    "content-type", "content-length", "user-agent", "referer", "host", "authorization", "proxy-authorization",
    "if-modified-since", "if-unmodified-since", "from", "location", "max-forwards", "retry-after", "etag",
    "last-modified", "server", "age", "expires",
})  # fmt: skip


@dataclass(frozen=True)
class HttpResponse:
    url: str
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""

    def values(self, name: str) -> list[str]:
        key = name.lower()
        return [value for header, value in self.headers if header.lower() == key]

    def get(self, name: str) -> str | None:
        """The header as the Observatory sees it: the first value, or all values joined with ", "."""
        values = self.values(name)
        if not values:
            return None
        return values[0] if name.lower() in _FIRST_ONLY else ", ".join(values)

    def to_json(self) -> dict[str, object]:
        return {"url": self.url, "status": self.status, "headers": {k.lower(): v for k, v in self.headers}}


@dataclass(frozen=True)
class Cookie:
    name: str
    domain: str
    path: str
    secure: bool = False
    httponly: bool = False
    samesite: str | None = None  # "strict", "lax", "none"; None when absent or not one of those

    def to_json(self) -> dict[str, object]:
        return {"domain": self.domain, "path": self.path, "secure": self.secure, "httponly": self.httponly,
                "samesite": self.samesite}  # fmt: skip


@dataclass(frozen=True)
class Session:
    start_url: str
    chain: tuple[tuple[str, int], ...]  # every URL fetched and its status, the start URL first
    response: HttpResponse | None  # the last response
    verified: bool = True
    cookies: tuple[Cookie, ...] = ()
    raw_set_cookies: tuple[str, ...] = field(default=())  # the last response's Set-Cookie headers


@dataclass(frozen=True)
class Facts:
    host: str  # the site's host name
    http: Session | None
    https: Session | None
    cors: HttpResponse | None = None
    cors_origin: str = ""

    @property
    def auto(self) -> Session | None:
        """The session that is graded: HTTPS when it answered, else HTTP."""
        if self.https is not None and self.https.response is not None:
            return self.https
        return self.http


def _default_path(url: str) -> str:
    path = path_of(url) or "/"
    return path[: path.rfind("/")] or "/" if path.count("/") > 1 else "/"


def _domain_matches(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def parse_set_cookie(raw: str, request_url: str) -> Cookie | None:
    """One Set-Cookie header as a cookie jar (RFC 6265) stores it; None when a jar would reject it."""
    parts = raw.split(";")
    name, sep, _ = parts[0].partition("=")
    name = name.strip()
    if not sep or not name:
        return None
    host = host_of(request_url)
    domain, path, secure, httponly, samesite = host, _default_path(request_url), False, False, None
    for attribute in parts[1:]:
        key, _, value = attribute.partition("=")
        key, value = key.strip().lower(), value.strip()
        if key == "domain" and value:
            domain = value.lstrip(".").lower()
        elif key == "path" and value.startswith("/"):
            path = value
        elif key == "secure":
            secure = True
        elif key == "httponly":
            httponly = True
        elif key == "samesite":
            samesite = value.lower() if value.lower() in ("strict", "lax", "none") else None
    if not _domain_matches(host, domain):
        return None
    return Cookie(name, domain, path, secure, httponly, samesite)


def build_jar(set_cookies: list[tuple[str, str]]) -> tuple[Cookie, ...]:
    """(Set-Cookie value, URL that set it) in order → the jar: a later cookie with the same name, domain and
    path replaces an earlier one."""
    jar: dict[tuple[str, str, str], Cookie] = {}
    for raw, url in set_cookies:
        cookie = parse_set_cookie(raw, url)
        if cookie is not None:
            jar[(cookie.name, cookie.domain, cookie.path)] = cookie
    return tuple(jar.values())


@dataclass(frozen=True)
class ScriptTag:
    src: str  # the src attribute, stripped ("" for inline scripts)
    integrity: str = ""


@dataclass(frozen=True)
class PageMeta:
    """What the graded page's HTML says (read by the collector with an HTML parser)."""

    csp: tuple[str, ...] = ()  # <meta http-equiv="Content-Security-Policy" content=...>
    referrer: str | None = None  # the last <meta name="referrer" content=...>
    scripts: tuple[ScriptTag, ...] = ()
    parsed: bool = True  # False: claimed HTML that could not be parsed
    registrable: Callable[[str], str | None] = field(default=lambda host: host, compare=False)  # host → eTLD+1


@dataclass(frozen=True)
class Outcome:
    name: str  # the Observatory's test name, e.g. "content-security-policy"
    result: str  # the Observatory's result id, e.g. "csp-implemented-with-no-unsafe"
    passed: bool
    data: Any = None
