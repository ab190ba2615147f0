"""Collect what the Observatory's tests read: the http:// and https:// sessions (redirects followed by hand, up to
10), the cookies set on the way, a CORS preflight, and the graded page's `<meta>` and `<script>` tags."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import aiohttp

from greenflag.readiness.headers.facts import HTML_TYPES, Facts, HttpResponse, PageMeta, ScriptTag, Session, build_jar
from greenflag.readiness.target import TargetOptions

__all__ = ["CORS_ORIGIN", "collect", "page_meta", "registrable_domain"]

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
BODY_LIMIT = 2 * 1024 * 1024
CORS_ORIGIN = "https://http-observatory.security.mozilla.org"  # the Origin the Observatory's preflight sends
HEADERS = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
           "User-Agent": "greenflag-headers-check"}  # fmt: skip


class _CertificateError(Exception):
    pass


def _raw_headers(response: aiohttp.ClientResponse) -> tuple[tuple[str, str], ...]:
    return tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers)


async def _get(client: aiohttp.ClientSession, url: str) -> tuple[HttpResponse, list[str]]:
    try:
        async with client.get(url, headers=HEADERS, allow_redirects=False) as response:
            body = await response.content.read(BODY_LIMIT)
            charset = response.charset or "utf-8"
            headers = _raw_headers(response)
            try:
                text = body.decode(charset, errors="replace")
            except LookupError:  # an unknown charset name
                text = body.decode("utf-8", errors="replace")
            return HttpResponse(url, response.status, headers, text), response.headers.getall("Set-Cookie", [])
    except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError) as exc:
        raise _CertificateError(str(exc)) from exc


async def _session(url: str, options: TargetOptions, verify: bool) -> Session | None:
    connector = aiohttp.TCPConnector(resolver=options.resolver(), ssl=options.ssl_context(verify=verify))
    timeout = aiohttp.ClientTimeout(total=options.timeout_s)
    chain: list[tuple[str, int]] = []
    set_cookies: list[tuple[str, str]] = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:  # fmt: skip
        current = url
        while True:
            response, cookies = await _get(client, current)
            chain.append((current, response.status))
            set_cookies.extend((raw, current) for raw in cookies)
            location = response.get("location")
            if response.status in REDIRECTS and location and len(chain) <= MAX_REDIRECTS:
                current = urljoin(current, location)
                continue
            return Session(url, tuple(chain), response, verify, build_jar(set_cookies), tuple(cookies))


async def fetch_session(url: str, options: TargetOptions) -> tuple[Session | None, str | None]:
    """The session from `url`, retried unverified after a certificate error; (None, why) when it cannot connect."""
    try:
        return await _session(url, options, True), None
    except _CertificateError:
        try:
            return await _session(url, options, False), None
        except Exception as exc:
            return None, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # connection refused, timeout, DNS: no session, which the tests grade as such
        return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _preflight(session: Session, options: TargetOptions) -> HttpResponse | None:
    url = session.chain[-1][0] if session.chain else session.start_url
    connector = aiohttp.TCPConnector(resolver=options.resolver(), ssl=options.ssl_context(verify=session.verified))
    headers = {"Access-Control-Request-Method": "GET", "Origin": CORS_ORIGIN, "User-Agent": HEADERS["User-Agent"]}
    try:
        async with (
            aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=options.timeout_s)) as c,
            c.options(url, headers=headers, max_redirects=MAX_REDIRECTS) as response,
        ):
            await response.read()
            return HttpResponse(str(response.url), response.status, _raw_headers(response))
    except Exception:
        return None


def registrable_domain(host: str) -> str | None:
    """The registrable domain (eTLD+1, ICANN section of the Public Suffix List); None for IPs and bare names."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if "." not in host:
        return None
    from publicsuffixlist import PublicSuffixList

    result = PublicSuffixList(only_icann=True).privatesuffix(host)
    return str(result) if result else None


def page_meta(response: HttpResponse, registrable: Callable[[str], str | None] = registrable_domain) -> PageMeta:
    """The graded page's CSP/referrer `<meta>` tags (HTML only) and `<script>` tags (HTML or untyped)."""
    mime = (response.get("content-type") or "").split(";")[0]
    if mime and mime not in HTML_TYPES:
        return PageMeta(registrable=registrable)
    from selectolax.lexbor import LexborHTMLParser

    try:
        tree = LexborHTMLParser(response.body)
    except Exception:
        return PageMeta(parsed=False, registrable=registrable)
    csp: list[str] = []
    referrer: str | None = None
    if mime in HTML_TYPES and response.body:
        for node in tree.css("meta"):
            attrs = node.attributes
            if "http-equiv" in attrs and "content" in attrs:
                if (attrs["http-equiv"] or "").strip().lower() == "content-security-policy":
                    csp.append(attrs["content"] or "")
            elif (attrs.get("name") or "").strip().lower() == "referrer" and "content" in attrs:
                referrer = attrs["content"] or ""
    scripts = tuple(ScriptTag((n.attributes.get("src") or "").strip(), n.attributes.get("integrity") or "")
                    for n in tree.css("script"))  # fmt: skip
    return PageMeta(tuple(csp), referrer, scripts, True, registrable)


async def collect(http_url: str | None, https_url: str | None, options: TargetOptions) -> tuple[Facts, dict[str, str]]:
    """Both sessions (concurrently) and the preflight; the second value says why a session could not connect."""

    async def nothing() -> tuple[Session | None, str | None]:
        return None, None

    (http, http_error), (https, https_error) = await asyncio.gather(
        fetch_session(http_url, options) if http_url else nothing(),
        fetch_session(https_url, options) if https_url else nothing(),
    )
    host = (urlsplit(https_url or http_url or "").hostname or "").lower()
    facts = Facts(host, http, https, None, CORS_ORIGIN)
    auto = facts.auto
    cors = await _preflight(auto, options) if auto is not None else None
    errors = {k: v for k, v in (("http", http_error), ("https", https_error)) if v}
    return Facts(host, http, https, cors, CORS_ORIGIN), errors
