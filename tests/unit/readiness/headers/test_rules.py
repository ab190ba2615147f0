"""The Observatory's tests, score and grade on hand-made facts (pure): each expected score is computed by hand in a
comment from the modifiers (baseline 100; bonuses only if 100 + penalties ≥ 90; grade at the score rounded down to
a multiple of 5)."""

from __future__ import annotations

import pytest

from greenflag.readiness.base import Status
from greenflag.readiness.headers.csp import DUPLICATE_WARNINGS, CspError, parse_csp, parse_csp_meta
from greenflag.readiness.headers.facts import (
    Facts,
    HttpResponse,
    PageMeta,
    ScriptTag,
    Session,
    build_jar,
    parse_set_cookie,
)
from greenflag.readiness.headers.grade import SCORE_TABLE, evaluate, grade_for, observatory_score
from greenflag.readiness.headers.rules import run_tests

HOST = "shop.example.com"
GOOD = (
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Security-Policy", "default-src 'none'; img-src 'self'; script-src 'self'; form-action 'self'; "
     "frame-ancestors 'none'"),
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)  # fmt: skip


def facts(
    headers: tuple[tuple[str, str], ...] = GOOD,
    *,
    cookies: tuple[str, ...] = (),
    http_chain: tuple[tuple[str, int], ...] | None = None,
    https: bool = True,
    verified: bool = True,
    cors: tuple[tuple[str, str], ...] = (),
) -> Facts:
    url = f"https://{HOST}/" if https else f"http://{HOST}/"
    response = HttpResponse(url, 200, headers + tuple(("Set-Cookie", c) for c in cookies))
    session = Session(url, ((url, 200),), response, verified, build_jar([(c, url) for c in cookies]), cookies)
    chain = http_chain if http_chain is not None else ((f"http://{HOST}/", 301), (f"https://{HOST}/", 200))
    http = Session(f"http://{HOST}/", chain, HttpResponse(chain[-1][0], chain[-1][1]), verified)
    return Facts(HOST, http if (https or http_chain) else None, session if https else None,
                 HttpResponse(url, 200, cors), "https://http-observatory.security.mozilla.org")  # fmt: skip


def results(f: Facts, meta: PageMeta | None = None) -> dict[str, str]:
    return {o.name: o.result for o in run_tests(f, meta or PageMeta())}


def score_of(f: Facts, meta: PageMeta | None = None) -> int:
    return observatory_score(run_tests(f, meta or PageMeta()))


def test_every_result_has_a_modifier_and_the_grade_chart() -> None:
    assert len(SCORE_TABLE) == 66  # every Expectation of the Observatory (src/types.js)
    assert [grade_for(s) for s in (135, 100, 99, 95, 90, 89, 85, 80, 75, 70, 65, 60, 55, 50, 45, 40, 35, 30, 25, 24,
                                   0)] == ["A+", "A+", "A", "A", "A", "A-", "A-", "B+", "B", "B", "B-", "C+", "C", "C",
                                           "C-", "D+", "D", "D", "D-", "F", "F"]  # fmt: skip


def test_a_hardened_site_earns_every_bonus() -> None:
    r = results(facts())
    assert r["content-security-policy"] == "csp-implemented-with-no-unsafe-default-src-none"
    assert r["x-frame-options"] == "x-frame-options-implemented-via-csp"
    # 100 + csp 10 + referrer 5 + xfo-via-csp 5 + corp 10 = 130 (no penalties, so the bonuses count)
    assert score_of(facts()) == 130
    result = evaluate("https://shop.example.com/", run_tests(facts(), PageMeta()))
    assert result.grade == "A+" and result.status is Status.PASS and result.findings == ()
    assert result.evidence["tests"]["strict-transport-security"]["modifier"] == 0


def test_extra_credit_needs_ninety_without_it() -> None:
    no_hsts = tuple(h for h in GOOD if h[0] != "Strict-Transport-Security")
    # penalties: hsts-not-implemented -20 → 80 < 90, so the +30 of bonuses is dropped: 80 (B+)
    assert results(facts(no_hsts))["strict-transport-security"] == "hsts-not-implemented"
    assert score_of(facts(no_hsts)) == 80 and grade_for(80) == "B+"
    short = tuple(h if h[0] != "Strict-Transport-Security" else (h[0], "max-age=86400") for h in GOOD)
    # hsts < six months -10 → 90 ≥ 90, bonuses count: 90 + 30 = 120 (A+)
    assert score_of(facts(short)) == 120


def test_hsts_details() -> None:
    def hsts(value: str) -> str:
        headers = tuple(h if h[0] != "Strict-Transport-Security" else (h[0], value) for h in GOOD)
        return results(facts(headers))["strict-transport-security"]

    assert hsts("max-age=15552000") == "hsts-implemented-max-age-at-least-six-months"  # the 180-day "six months"
    assert hsts("max-age=15551999") == "hsts-implemented-max-age-less-than-six-months"
    assert hsts("includeSubDomains") == "hsts-header-invalid"  # no max-age
    assert hsts("max-age=1, max-age=31536000") == "hsts-header-invalid"  # set twice
    assert hsts("max-age=abc") == "hsts-implemented-max-age-at-least-six-months"  # the Observatory's NaN quirk
    assert results(facts(verified=False))["strict-transport-security"] == "hsts-invalid-cert"
    assert results(facts(https=False, http_chain=((f"http://{HOST}/", 200),)))["strict-transport-security"] == \
        "hsts-not-implemented-no-https"  # fmt: skip


def test_redirection() -> None:
    def redirection(*chain: tuple[str, int]) -> str:
        return results(facts(http_chain=chain))["redirection"]

    assert redirection(("http://shop.example.com/", 301), ("https://shop.example.com/", 200)) == "redirection-to-https"
    assert (
        redirection(
            ("http://shop.example.com/", 200),
        )
        == "redirection-missing"
    )
    assert redirection(("http://shop.example.com/", 301), ("https://www.example.com/", 200)) == \
        "redirection-off-host-from-http"  # fmt: skip
    hops = (("http://shop.example.com/", 301), ("http://www.example.com/", 301), ("https://www.example.com/", 200))
    assert redirection(*hops) == "redirection-not-to-https-on-initial-redirection"
    assert redirection(("http://shop.example.com/", 301), ("http://www.example.com/", 200)) == \
        "redirection-not-to-https"  # fmt: skip
    no_http = Facts(HOST, None, facts().https, None, "")
    assert results(no_http)["redirection"] == "redirection-not-needed-no-http"


def test_csp_outcomes() -> None:
    def csp(policy: str, meta: PageMeta | None = None) -> str:
        headers = tuple(h if h[0] != "Content-Security-Policy" else (h[0], policy) for h in GOOD)
        return results(facts(headers), meta)["content-security-policy"]

    assert csp("default-src 'self'") == "csp-implemented-with-no-unsafe"
    assert csp("default-src 'self'; script-src 'self' 'unsafe-inline'") == "csp-implemented-with-unsafe-inline"
    assert csp("default-src 'self'; script-src 'nonce-abc' 'unsafe-inline'") == "csp-implemented-with-no-unsafe"
    assert csp("default-src 'self'; script-src 'nonce-abc' 'strict-dynamic' https:") == \
        "csp-implemented-with-no-unsafe"  # fmt: skip
    assert csp("default-src 'self'; script-src 'strict-dynamic'") == "csp-header-invalid"
    assert csp("default-src 'self'; script-src 'self' 'unsafe-eval'") == "csp-implemented-with-unsafe-eval"
    assert csp("default-src 'self'; style-src 'self' 'unsafe-inline'") == \
        "csp-implemented-with-unsafe-inline-in-style-src-only"  # fmt: skip
    assert csp("default-src 'self'; img-src http://cdn.example.com") == \
        "csp-implemented-with-insecure-scheme-in-passive-content-only"  # fmt: skip
    assert csp("default-src 'self'; connect-src http://api.example.com") == "csp-implemented-with-insecure-scheme"
    assert csp("img-src 'self'") == "csp-implemented-with-unsafe-inline"  # script-src unrestricted
    assert csp("default-src 'self'; default-src 'none'") == "csp-header-invalid"
    assert csp("default-src 'self'; report-uri /a; report-uri /b") == "csp-implemented-but-duplicate-directives"
    assert csp("a") == "csp-header-invalid"  # shorter than any useful policy
    no_csp = tuple(h for h in GOOD if h[0] != "Content-Security-Policy")
    assert results(facts(no_csp))["content-security-policy"] == "csp-not-implemented"
    assert results(facts((*no_csp, ("Content-Security-Policy-Report-Only", "default-src 'none'"))))[
        "content-security-policy"] == "csp-not-implemented-but-reporting-enabled"  # fmt: skip
    via_meta = results(facts(no_csp), PageMeta(csp=("default-src 'none'; frame-ancestors 'none'",)))
    assert via_meta["content-security-policy"] == "csp-implemented-with-no-unsafe-default-src-none"


def test_csp_parser() -> None:
    assert parse_csp(["DEFAULT-SRC 'SELF'; script-src"]) == {"default-src": {"'self'"}, "script-src": {"'none'"}}
    two = parse_csp(["default-src https://a.example/ https://b.example/", "default-src https://a.example/x"])
    assert two == {"default-src": {"https://a.example/x"}}  # only what both policies allow survives
    assert parse_csp(["default-src 'self'; report-uri /a; report-uri /b"])[DUPLICATE_WARNINGS] == {"report-uri"}
    with pytest.raises(CspError):
        parse_csp(["default-src 'self'; default-src 'none'"])
    assert "frame-ancestors" not in parse_csp_meta(["default-src 'none'; frame-ancestors 'none'"])


def test_cookies() -> None:
    def cookies(*raw: str, headers: tuple[tuple[str, str], ...] = GOOD) -> str:
        return results(facts(headers, cookies=raw))["cookies"]

    assert cookies() == "cookies-not-found"
    assert cookies("sessionid=1; Secure; HttpOnly; SameSite=Lax") == \
        "cookies-secure-with-httponly-sessions-and-samesite"  # fmt: skip
    assert cookies("sessionid=1; Secure; HttpOnly") == "cookies-secure-with-httponly-sessions"
    assert cookies("theme=dark") == "cookies-without-secure-flag-but-protected-by-hsts"
    no_hsts = tuple(h for h in GOOD if h[0] != "Strict-Transport-Security")
    assert cookies("theme=dark", headers=no_hsts) == "cookies-without-secure-flag"
    assert cookies("sessionid=1; HttpOnly; SameSite=Lax", headers=no_hsts) == "cookies-session-without-secure-flag"
    assert cookies("sessionid=1; Secure; SameSite=Lax") == "cookies-session-without-httponly-flag"
    assert cookies("csrftoken=1; Secure") == "cookies-anticsrf-without-samesite-flag"
    assert cookies("a=1; Secure; SameSite=Loose") == "cookies-samesite-flag-invalid"
    assert cookies("a=1; SameSite=None") == "cookies-samesite-flag-invalid"
    # 100 + session-without-secure -40 (no HSTS -20 also applies to the score) ...
    worst = facts(no_hsts, cookies=("sessionid=1",))
    # csp +10, referrer +5, xfo +5, corp +10 are bonuses; penalties: cookies -40, hsts -20 → 40 < 90: score 40 (D+)
    assert score_of(worst) == 40 and grade_for(40) == "D+"
    assert parse_set_cookie("a=1; Domain=other.example", "https://shop.example.com/") is None  # a jar rejects it
    assert parse_set_cookie("a=1; Domain=.example.com; Path=/x", "https://shop.example.com/") is not None


def test_cors_referrer_xcto_xfo_corp() -> None:
    origin = "https://http-observatory.security.mozilla.org"
    universal = facts(cors=(("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")))
    assert results(universal)["cross-origin-resource-sharing"] == \
        "cross-origin-resource-sharing-implemented-with-universal-access"  # fmt: skip
    public = facts(cors=(("Access-Control-Allow-Origin", "*"),))
    assert results(public)["cross-origin-resource-sharing"] == \
        "cross-origin-resource-sharing-implemented-with-public-access"  # fmt: skip

    def with_header(name: str, value: str | None) -> dict[str, str]:
        base = tuple(h for h in GOOD if h[0] != name)
        return results(facts(base if value is None else (*base, (name, value))))

    assert with_header("Referrer-Policy", "unsafe-url")["referrer-policy"] == "referrer-policy-unsafe"
    assert with_header("Referrer-Policy", "no-referrer, bogus")["referrer-policy"] == "referrer-policy-private"
    assert with_header("Referrer-Policy", "bogus")["referrer-policy"] == "referrer-policy-header-invalid"
    assert results(facts(), PageMeta(referrer="unsafe-url"))["referrer-policy"] == "referrer-policy-unsafe"
    assert with_header("X-Content-Type-Options", "sniff")["x-content-type-options"] == \
        "x-content-type-options-header-invalid"  # fmt: skip
    no_fa = tuple(h if h[0] != "Content-Security-Policy" else (h[0], "default-src 'none'") for h in GOOD)
    assert results(facts((*no_fa, ("X-Frame-Options", "DENY"))))["x-frame-options"] == \
        "x-frame-options-sameorigin-or-deny"  # fmt: skip
    assert results(facts(no_fa))["x-frame-options"] == "x-frame-options-not-implemented"
    assert with_header("Cross-Origin-Resource-Policy", "same-site")["cross-origin-resource-policy"] == \
        "corp-implemented-with-same-site"  # fmt: skip
    assert with_header("Cross-Origin-Resource-Policy", "nope")["cross-origin-resource-policy"] == "corp-header-invalid"


def test_sri() -> None:
    def sri(*scripts: ScriptTag) -> str:
        def registrable(host: str) -> str | None:
            return ".".join(host.split(".")[-2:]) if "." in host else None

        return results(facts(), PageMeta(scripts=scripts, registrable=registrable))["subresource-integrity"]

    assert sri() == "sri-not-implemented-but-no-scripts-loaded"
    assert sri(ScriptTag("/app.js")) == "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"
    assert sri(ScriptTag("/app.js", "sha384-x")) == "sri-implemented-and-all-scripts-loaded-securely"
    assert sri(ScriptTag("https://cdn.example.com/a.js")) == \
        "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"  # same registrable domain  # fmt: skip
    assert sri(ScriptTag("https://cdn.other.net/a.js", "sha384-x")) == \
        "sri-implemented-and-external-scripts-loaded-securely"  # fmt: skip
    assert sri(ScriptTag("https://cdn.other.net/a.js")) == "sri-not-implemented-but-external-scripts-loaded-securely"
    assert sri(ScriptTag("http://cdn.other.net/a.js")) == \
        "sri-not-implemented-and-external-scripts-not-loaded-securely"  # fmt: skip
    assert sri(ScriptTag("//cdn.other.net/a.js", "sha384-x")) == \
        "sri-implemented-but-external-scripts-not-loaded-securely"  # fmt: skip
    json_page = facts((("Content-Type", "application/json"),))
    assert results(json_page)["subresource-integrity"] == "sri-not-implemented-response-not-html"
