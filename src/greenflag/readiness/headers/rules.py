"""The ten scored tests of MDN HTTP Observatory (algorithm version 4), re-implemented from its analyzers in
`mdn/mdn-http-observatory: src/analyzer/tests/*.js`, each a pure function of the collected `Facts`.

Each returns the Observatory's result id (its `Expectation` string, so a result can be looked up in its docs),
whether the test passed, and the data it read. Where the Observatory has a quirk, it is kept and commented: the
grade must be the grade the Observatory gives. The HSTS preload list is not consulted (it is external data), so
the "preloaded" results are never given.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from greenflag.readiness.headers.csp import csp_test
from greenflag.readiness.headers.facts import HTML_TYPES, Facts, Outcome, PageMeta
from greenflag.readiness.urltext import host_of

__all__ = ["TESTS", "run_tests"]

__pure__ = True


def _worse(new: str, old: str | None, order: list[str]) -> str:
    """The Observatory's onlyIfWorse: keep `old` unless `new` comes later in `order`."""
    if old is None or order.index(new) > order.index(old):
        return new
    return old


def _mime(facts: Facts) -> str:
    auto = facts.auto
    value = (auto.response.get("content-type") if auto and auto.response else None) or ""
    return value.split(";")[0]


def _parse_int(text: str) -> float:
    """JavaScript's parseInt(text, 10): leading digits after optional space and sign; NaN when there are none."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return float(match.group(1)) if match else float("nan")


def hsts_test(facts: Facts, meta: PageMeta | None = None) -> Outcome:
    name = "strict-transport-security"
    session = facts.https
    if session is None or session.response is None:
        return Outcome(name, "hsts-not-implemented-no-https", False)
    if not session.verified:
        return Outcome(name, "hsts-invalid-cert", False)
    header = session.response.get("strict-transport-security")
    if header is None:
        return Outcome(name, "hsts-not-implemented", False)
    data = header[:1024]
    max_age: float | None = None
    for parameter in (p.strip().lower() for p in data.split(";")):
        if parameter.startswith("max-age="):
            max_age = _parse_int(parameter[8:128])
    if "," in data or max_age is None:  # set twice, or no max-age
        return Outcome(name, "hsts-header-invalid", False, data)
    # 15552000 (180 days) stands for "six months", as in the original; a NaN max-age compares false there and
    # is therefore graded as long enough (kept: it is what the Observatory does).
    if max_age < 15_552_000:
        return Outcome(name, "hsts-implemented-max-age-less-than-six-months", False, data)
    return Outcome(name, "hsts-implemented-max-age-at-least-six-months", True, data)


_COOKIE_ORDER = [
    "cookies-without-secure-flag-but-protected-by-hsts", "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts", "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag", "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
]  # fmt: skip


def _invalid_samesite(raw: str) -> bool:
    for part in raw.strip().split(";"):
        pieces = part.strip().split("=")
        value = pieces[1] if len(pieces) > 1 else ""
        if pieces[0].strip().lower() == "samesite" and value.strip().lower() not in ("lax", "strict", "none"):
            return True
    return False


def cookies_test(facts: Facts, meta: PageMeta | None = None) -> Outcome:
    name = "cookies"
    auto = facts.auto
    hsts = hsts_test(facts).passed
    result: str | None = None
    if auto is not None and any(_invalid_samesite(raw) for raw in auto.raw_set_cookies):
        result = "cookies-samesite-flag-invalid"
    cookies = auto.cookies if auto is not None else ()
    if not cookies:
        return Outcome(name, "cookies-not-found", True)
    missing_samesite = False
    for cookie in cookies:
        key = cookie.name.lower()
        session, anticsrf = "login" in key or "sess" in key, "csrf" in key
        if not cookie.secure and cookie.samesite == "none":
            result = _worse("cookies-samesite-flag-invalid", result, _COOKIE_ORDER)
        if not cookie.secure:
            flag = "cookies-without-secure-flag-but-protected-by-hsts" if hsts else "cookies-without-secure-flag"
            result = _worse(flag, result, _COOKIE_ORDER)
        if anticsrf and not cookie.samesite:
            result = _worse("cookies-anticsrf-without-samesite-flag", result, _COOKIE_ORDER)
        if session and not cookie.secure:
            flag = "cookies-session-without-secure-flag-but-protected-by-hsts" if hsts else \
                "cookies-session-without-secure-flag"  # fmt: skip
            result = _worse(flag, result, _COOKIE_ORDER)
        if session and not cookie.httponly:
            result = _worse("cookies-session-without-httponly-flag", result, _COOKIE_ORDER)
        missing_samesite = missing_samesite or not cookie.samesite
    if result is None:
        result = "cookies-secure-with-httponly-sessions" if missing_samesite else \
            "cookies-secure-with-httponly-sessions-and-samesite"  # fmt: skip
    passed = result in ("cookies-secure-with-httponly-sessions", "cookies-secure-with-httponly-sessions-and-samesite")
    return Outcome(name, result, passed, {c.name: c.to_json() for c in cookies})


def cors_test(facts: Facts, meta: PageMeta | None = None) -> Outcome:
    name = "cross-origin-resource-sharing"
    acao = facts.cors.get("access-control-allow-origin") if facts.cors is not None else None
    if not acao:
        return Outcome(name, "cross-origin-resource-sharing-not-implemented", True)
    data = acao[:256].strip().lower()
    credentials = facts.cors.get("access-control-allow-credentials") if facts.cors is not None else None
    if data == "*":
        return Outcome(name, "cross-origin-resource-sharing-implemented-with-public-access", True, data)
    if acao == facts.cors_origin and (credentials or "").strip().lower() == "true":
        return Outcome(name, "cross-origin-resource-sharing-implemented-with-universal-access", False, data)
    return Outcome(name, "cross-origin-resource-sharing-implemented-with-restricted-access", True, data)


def redirection_test(facts: Facts, meta: PageMeta | None = None) -> Outcome:
    name = "redirection"
    session = facts.http
    if session is None or session.response is None:
        return Outcome(name, "redirection-not-needed-no-http", True)
    if not session.verified:
        return Outcome(name, "redirection-invalid-cert", False)
    route = [url for url, _ in session.chain]
    schemes = [url.split(":", 1)[0].lower() for url in route]
    if len(route) == 1:
        result = "redirection-missing"
    elif schemes[-1] != "https":
        result = "redirection-not-to-https"
    elif schemes[1] == "http":
        result = "redirection-not-to-https-on-initial-redirection"
    elif schemes[0] == "http" and _host(route[0]) != _host(route[1]):
        result = "redirection-off-host-from-http"
    else:
        result = "redirection-to-https"
    return Outcome(name, result, result == "redirection-to-https", route)


def _host(url: str) -> str:
    return host_of(url)


_GOOD_REFERRER = ("no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin")
_BAD_REFERRER = ("origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade")


def referrer_test(facts: Facts, meta: PageMeta) -> Outcome:
    name = "referrer-policy"
    auto = facts.auto
    if auto is None or auto.response is None:
        return Outcome(name, "referrer-policy-not-implemented", False)
    values = auto.response.values("referrer-policy") + ([meta.referrer] if meta.referrer is not None else [])
    if not values:
        return Outcome(name, "referrer-policy-not-implemented", True)
    data = ", ".join(values)
    valid = [t.strip().lower() for t in data.split(",") if t.strip().lower() in _GOOD_REFERRER + _BAD_REFERRER]
    policy = valid[-1] if valid else ""  # the last valid token wins (a <meta> after the header)
    if policy in _GOOD_REFERRER:
        return Outcome(name, "referrer-policy-private", True, data)
    if policy in _BAD_REFERRER:
        return Outcome(name, "referrer-policy-unsafe", False, data)
    return Outcome(name, "referrer-policy-header-invalid", False, data)


_SRI_ORDER = [
    "sri-implemented-and-all-scripts-loaded-securely", "sri-implemented-and-external-scripts-loaded-securely",
    "sri-implemented-but-external-scripts-not-loaded-securely",
    "sri-not-implemented-but-external-scripts-loaded-securely",
    "sri-not-implemented-and-external-scripts-not-loaded-securely", "sri-not-implemented-response-not-html",
]  # fmt: skip


def sri_test(facts: Facts, meta: PageMeta) -> Outcome:
    name = "subresource-integrity"
    auto = facts.auto
    if auto is None or auto.response is None:
        return Outcome(name, "sri-not-implemented-but-no-scripts-loaded", False)
    mime = _mime(facts)
    if mime and mime not in HTML_TYPES:
        return Outcome(name, "sri-not-implemented-response-not-html", True)
    if not meta.parsed:
        return Outcome(name, "html-not-parseable", False)
    result: str | None = None
    foreign = False
    data: dict[str, dict[str, str]] = {}
    site_domain = meta.registrable(facts.host)
    for script in meta.scripts:
        if not script.src:
            continue
        relative_protocol = re.match(r"^//[^/]", script.src) is not None
        full = re.match(r"^https?://", script.src, re.IGNORECASE) is not None
        relative_origin = not relative_protocol and not full
        # two IP addresses (no registrable domain) count as the same site, as in the original
        same_site = relative_protocol or relative_origin or meta.registrable(_host(script.src)) == site_domain
        secure_origin = relative_origin or (same_site and not relative_protocol)
        scheme = script.src.split(":", 1)[0].lower() if full else None
        secure_scheme = scheme == "https" or (relative_origin and auto.start_url.startswith("https:"))
        if not secure_origin:
            foreign = True
            data[script.src] = {"integrity": script.integrity}
            if script.integrity and not secure_scheme:
                result = _worse("sri-implemented-but-external-scripts-not-loaded-securely", result, _SRI_ORDER)
            elif not script.integrity and secure_scheme:
                result = _worse("sri-not-implemented-but-external-scripts-loaded-securely", result, _SRI_ORDER)
            elif not script.integrity:
                result = _worse("sri-not-implemented-and-external-scripts-not-loaded-securely", result, _SRI_ORDER)
        elif script.integrity and secure_scheme and result is None:
            result = "sri-implemented-and-all-scripts-loaded-securely"
    if not meta.scripts:
        result = "sri-not-implemented-but-no-scripts-loaded"
    elif result is None:
        result = "sri-implemented-and-external-scripts-loaded-securely" if foreign else \
            "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"  # fmt: skip
    passed = result in ("sri-implemented-and-all-scripts-loaded-securely",
                        "sri-implemented-and-external-scripts-loaded-securely",
                        "sri-not-implemented-response-not-html",
                        "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
                        "sri-not-implemented-but-no-scripts-loaded")  # fmt: skip
    return Outcome(name, result, passed, data)


def xcto_test(facts: Facts, meta: PageMeta | None = None) -> Outcome:
    name = "x-content-type-options"
    auto = facts.auto
    header = auto.response.get("x-content-type-options") if auto and auto.response else None
    if not header:
        return Outcome(name, "x-content-type-options-not-implemented", False)
    if header[:256].strip().lower() == "nosniff":
        return Outcome(name, "x-content-type-options-nosniff", True, header[:256])
    return Outcome(name, "x-content-type-options-header-invalid", False, header[:256])


def xfo_test(facts: Facts, meta: PageMeta) -> Outcome:
    name = "x-frame-options"
    auto = facts.auto
    if auto is None or auto.response is None:
        return Outcome(name, "x-frame-options-not-implemented", False)
    header = auto.response.get("x-frame-options")
    data = header[:1024] if header else None
    value = (data or "").strip().lower()
    if not header:
        result = "x-frame-options-not-implemented"
    elif value in ("deny", "sameorigin"):
        result = "x-frame-options-sameorigin-or-deny"
    elif value.startswith("allow-from"):
        result = "x-frame-options-allow-from-origin"
    else:
        result = "x-frame-options-header-invalid"
    csp = csp_test(facts, meta).data
    if isinstance(csp, dict) and csp.get("frame-ancestors"):  # the CSP test's data, <meta> policies included
        result = "x-frame-options-implemented-via-csp"
    passed = result in ("x-frame-options-sameorigin-or-deny", "x-frame-options-allow-from-origin",
                        "x-frame-options-implemented-via-csp")  # fmt: skip
    return Outcome(name, result, passed, data)


def corp_test(facts: Facts, meta: PageMeta | None = None) -> Outcome:
    name = "cross-origin-resource-policy"
    auto = facts.auto
    header = auto.response.get("cross-origin-resource-policy") if auto and auto.response else None
    value = header[:256].strip().lower() if header else ""
    results = {"same-site": "corp-implemented-with-same-site", "same-origin": "corp-implemented-with-same-origin",
               "cross-origin": "corp-implemented-with-cross-origin"}  # fmt: skip
    if not value:
        return Outcome(name, "corp-not-implemented", True)
    result = results.get(value, "corp-header-invalid")
    return Outcome(name, result, result != "corp-header-invalid", value)


# In the Observatory's order (src/scanner/index.js).
TESTS: tuple[Callable[[Facts, PageMeta], Outcome], ...] = (
    csp_test, cookies_test, cors_test, redirection_test, referrer_test, hsts_test, sri_test, xcto_test, xfo_test,
    corp_test,
)  # fmt: skip


def run_tests(facts: Facts, meta: PageMeta) -> list[Outcome]:
    return [test(facts, meta) for test in TESTS]
