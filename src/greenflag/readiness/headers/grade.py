"""MDN HTTP Observatory's score and grade from the ten test outcomes, and the CheckResult (pure).

Scoring (`src/scanner/index.js`, `src/grader/charts.js`, `src/grader/grader.js`): start at 100 and add every
test's modifier; bonuses (positive modifiers) count only if the score with the penalties alone is at least 90
(MINIMUM_SCORE_FOR_EXTRA_CREDIT); the score is at least 0; the grade is read at the score rounded down to a
multiple of 5 (100 and above A+, 90 A, 85 A-, 80 B+, 70 B, 65 B-, 60 C+, 50 C, 45 C-, 40 D+, 30 D, 25 D-,
below F). The modifiers below are the Observatory's; the sentences are greenflag's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from greenflag.readiness.base import CheckResult, Finding, Severity, Status
from greenflag.readiness.headers.facts import Outcome

__all__ = ["GRADES", "SCORE_TABLE", "evaluate", "grade_at_least", "grade_for", "observatory_score"]

__pure__ = True

ALGORITHM_VERSION = 4
MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90
GRADES = ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F")
_CHART = ((100, "A+"), (90, "A"), (85, "A-"), (80, "B+"), (70, "B"), (65, "B-"), (60, "C+"), (50, "C"), (45, "C-"),
          (40, "D+"), (30, "D"), (25, "D-"))  # fmt: skip

# result id → (modifier, what it means / what to do)
SCORE_TABLE: dict[str, tuple[int, str]] = {
    "csp-implemented-with-no-unsafe-default-src-none": (10, "CSP with default-src 'none' and no unsafe sources."),
    "csp-implemented-with-no-unsafe": (
        5,
        "CSP without 'unsafe-inline' or 'unsafe-eval'; default-src 'none' earns more.",
    ),
    "csp-implemented-with-unsafe-inline-in-style-src-only": (
        0,
        "CSP allows unsafe sources in style-src only; lock style-src down.",
    ),
    "csp-implemented-with-insecure-scheme-in-passive-content-only": (
        -10,
        "CSP lets images or media load over HTTP; allow https: only.",
    ),
    "csp-implemented-with-unsafe-eval": (
        -10,
        "CSP allows 'unsafe-eval'; remove eval() from the code, then the keyword.",
    ),
    "csp-implemented-with-unsafe-inline": (
        -20,
        "CSP allows inline script, data: or overly broad sources in script-src or object-src (or leaves them "
        "unrestricted); set both, without 'unsafe-inline', data: or schemes like https:.",
    ),
    "csp-implemented-with-insecure-scheme": (
        -20,
        "CSP on an HTTPS site allows resources over HTTP; remove http: sources.",
    ),
    "csp-implemented-but-duplicate-directives": (0, "CSP repeats report-uri or report-to; keep one of each."),
    "csp-header-invalid": (
        -25,
        "The Content-Security-Policy cannot be parsed (a repeated directive, 'strict-dynamic' without a nonce or "
        "hash, or a policy too short).",
    ),
    "csp-not-implemented": (-25, "No Content-Security-Policy; add one, starting from default-src 'none'."),
    "csp-not-implemented-but-reporting-enabled": (
        -25,
        "Only Content-Security-Policy-Report-Only is set: nothing is enforced; enforce the policy.",
    ),
    "cookies-secure-with-httponly-sessions-and-samesite": (
        5,
        "Every cookie is Secure, session cookies are HttpOnly, and SameSite is set.",
    ),
    "cookies-secure-with-httponly-sessions": (
        0,
        "Every cookie is Secure and session cookies are HttpOnly; add SameSite for the bonus.",
    ),
    "cookies-not-found": (0, "No cookies are set."),
    "cookies-without-secure-flag-but-protected-by-hsts": (
        -5,
        "A cookie lacks Secure (HSTS keeps it off HTTP); add Secure.",
    ),
    "cookies-session-without-secure-flag-but-protected-by-hsts": (
        -10,
        "A session cookie lacks Secure (HSTS keeps it off HTTP); add Secure.",
    ),
    "cookies-without-secure-flag": (-20, "A cookie lacks Secure and nothing keeps it off HTTP; add Secure and HSTS."),
    "cookies-samesite-flag-invalid": (-20, "A cookie's SameSite is not Strict or Lax (or is None without Secure)."),
    "cookies-anticsrf-without-samesite-flag": (-20, "An anti-CSRF cookie has no SameSite; set SameSite=Strict or Lax."),
    "cookies-session-without-httponly-flag": (
        -30,
        "A session cookie lacks HttpOnly: scripts can read it; add HttpOnly.",
    ),
    "cookies-session-without-secure-flag": (
        -40,
        "A session cookie lacks Secure and can travel over HTTP; add Secure and HSTS.",
    ),
    "cross-origin-resource-sharing-not-implemented": (0, "The page is not shared across origins (no CORS headers)."),
    "cross-origin-resource-sharing-implemented-with-public-access": (
        0,
        "Public content: Access-Control-Allow-Origin: *.",
    ),
    "cross-origin-resource-sharing-implemented-with-restricted-access": (0, "CORS is restricted to named origins."),
    "cross-origin-resource-sharing-implemented-with-universal-access": (
        -50,
        "Any origin's request is echoed back with credentials allowed: other sites can act as your users. Allow "
        "only named origins, or * without credentials.",
    ),
    "redirection-all-redirects-preloaded": (0, "Every host redirected to is HSTS-preloaded."),
    "redirection-to-https": (0, "HTTP redirects to HTTPS on the same host first, and ends on HTTPS."),
    "redirection-not-needed-no-http": (0, "The site does not answer over HTTP, so no redirect is needed."),
    "redirection-off-host-from-http": (
        -5,
        "HTTP redirects straight to another host; redirect to HTTPS on the same host first, so HSTS applies.",
    ),
    "redirection-not-to-https-on-initial-redirection": (
        -10,
        "HTTP first redirects to another HTTP URL; go to HTTPS on the same host first.",
    ),
    "redirection-not-to-https": (-20, "The redirects do not end on HTTPS."),
    "redirection-missing": (-20, "HTTP does not redirect to HTTPS; redirect to the same host over HTTPS."),
    "redirection-invalid-cert": (-20, "A redirect leads to a certificate that does not verify."),
    "referrer-policy-private": (
        5,
        "Referrer-Policy keeps URLs private (no-referrer, same-origin, strict-origin[-when-cross-origin]).",
    ),
    "referrer-policy-not-implemented": (0, "No Referrer-Policy; strict-origin-when-cross-origin is a good minimum."),
    "referrer-policy-unsafe": (
        -5,
        "Referrer-Policy leaks URLs (origin, origin-when-cross-origin, unsafe-url, no-referrer-when-downgrade).",
    ),
    "referrer-policy-header-invalid": (-5, "Referrer-Policy has no recognised value."),
    "hsts-preloaded": (5, "The site is HSTS-preloaded."),
    "hsts-implemented-max-age-at-least-six-months": (0, "HSTS with max-age of at least six months."),
    "hsts-implemented-max-age-less-than-six-months": (-10, "HSTS max-age is under six months (15552000 s); raise it."),
    "hsts-not-implemented": (-20, "No Strict-Transport-Security header on HTTPS; add one with a long max-age."),
    "hsts-header-invalid": (-20, "Strict-Transport-Security cannot be read (no max-age, or set twice)."),
    "hsts-not-implemented-no-https": (-20, "The site is not available over HTTPS, so it cannot have HSTS."),
    "hsts-invalid-cert": (-20, "The certificate does not verify, so HSTS cannot take effect."),
    "sri-implemented-and-all-scripts-loaded-securely": (
        5,
        "Scripts carry integrity hashes and come from the same site.",
    ),
    "sri-implemented-and-external-scripts-loaded-securely": (
        5,
        "External scripts carry integrity hashes and load over HTTPS.",
    ),
    "sri-not-implemented-response-not-html": (0, "Not an HTML page: no scripts to check."),
    "sri-not-implemented-but-no-scripts-loaded": (0, "The page loads no scripts."),
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": (
        0,
        "Scripts come from the same site; integrity hashes would earn a bonus.",
    ),
    "sri-not-implemented-but-external-scripts-loaded-securely": (
        -5,
        "External scripts load over HTTPS without integrity hashes; add integrity.",
    ),
    "sri-implemented-but-external-scripts-not-loaded-securely": (
        -20,
        "External scripts with integrity hashes load over HTTP or protocol-relative //; use https://.",
    ),
    "sri-not-implemented-and-external-scripts-not-loaded-securely": (
        -50,
        "External scripts load over HTTP or protocol-relative // without integrity; use https:// and add "
        "integrity.",
    ),
    "html-not-parseable": (-20, "The page says it is HTML but cannot be parsed."),
    "x-content-type-options-nosniff": (0, "X-Content-Type-Options: nosniff."),
    "x-content-type-options-not-implemented": (-5, "No X-Content-Type-Options; set it to nosniff."),
    "x-content-type-options-header-invalid": (-5, "X-Content-Type-Options is not nosniff."),
    "x-frame-options-implemented-via-csp": (5, "Framing is controlled by CSP frame-ancestors."),
    "x-frame-options-sameorigin-or-deny": (
        0,
        "X-Frame-Options is DENY or SAMEORIGIN; CSP frame-ancestors earns a bonus.",
    ),
    "x-frame-options-allow-from-origin": (0, "X-Frame-Options uses ALLOW-FROM; prefer CSP frame-ancestors."),
    "x-frame-options-not-implemented": (
        -20,
        "Nothing stops other sites from framing the page (clickjacking); set CSP frame-ancestors or X-Frame-"
        "Options.",
    ),
    "x-frame-options-header-invalid": (-20, "X-Frame-Options has no recognised value."),
    "corp-implemented-with-same-origin": (10, "Cross-Origin-Resource-Policy: same-origin."),
    "corp-implemented-with-same-site": (10, "Cross-Origin-Resource-Policy: same-site."),
    "corp-implemented-with-cross-origin": (0, "Cross-Origin-Resource-Policy: cross-origin."),
    "corp-not-implemented": (0, "No Cross-Origin-Resource-Policy (same-origin or same-site earns a bonus)."),
    "corp-header-invalid": (-5, "Cross-Origin-Resource-Policy has no recognised value."),
}


def observatory_score(outcomes: Sequence[Outcome]) -> int:
    """100 + penalties, plus the bonuses only when 100 + penalties ≥ 90; never below 0."""
    modifiers = [SCORE_TABLE[o.result][0] for o in outcomes]
    with_bonus = 100 + sum(modifiers)
    penalties_only = 100 + sum(m for m in modifiers if m < 0)
    return max(with_bonus if penalties_only >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else penalties_only, 0)


def grade_for(score: int) -> str:
    step = min(score - score % 5, 100)
    for bound, letter in _CHART:
        if step >= bound:
            return letter
    return "F"


def grade_at_least(grade: str, minimum: str) -> bool:
    return GRADES.index(grade) <= GRADES.index(minimum)


def _severity(modifier: int) -> Severity:
    if modifier <= -40:
        return Severity.CRITICAL
    if modifier <= -20:
        return Severity.HIGH
    if modifier <= -10:
        return Severity.MEDIUM
    return Severity.LOW


def evaluate(url: str, outcomes: Sequence[Outcome], *, min_grade: str = "A+",
             evidence: dict[str, Any] | None = None) -> CheckResult:  # fmt: skip
    """The headers CheckResult: FAIL below `min_grade`; a finding per penalised test."""
    score = observatory_score(outcomes)
    letter = grade_for(score)
    findings: list[Finding] = []
    for outcome in outcomes:
        modifier, text = SCORE_TABLE[outcome.result]
        if modifier < 0:
            findings.append(Finding(f"headers.{outcome.name}", _severity(modifier), f"{text} ({modifier:+d})",
                                    {"result": outcome.result}))  # fmt: skip
    status = Status.PASS
    if not grade_at_least(letter, min_grade):
        status = Status.FAIL
        text = f"Observatory grade {letter} ({score}) is below the minimum {min_grade}."
        findings.insert(0, Finding("headers.grade_below_minimum", Severity.HIGH, text))
    elif findings:
        status = Status.WARN
    tests = {
        o.name: {"result": o.result, "modifier": SCORE_TABLE[o.result][0], "pass": o.passed, "data": o.data}
        for o in outcomes
    }
    data = {"score": score, "grade": letter, "algorithm": f"MDN HTTP Observatory v{ALGORITHM_VERSION}",
            "tests_passed": sum(o.passed for o in outcomes), "tests_failed": sum(not o.passed for o in outcomes),
            "tests": tests, **(evidence or {})}  # fmt: skip
    return CheckResult("headers", url, status, tuple(findings), grade=letter, score=float(score), evidence=data)
