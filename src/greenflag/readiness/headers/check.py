"""`check_headers(url)`: grade a site's HTTP security headers the way MDN HTTP Observatory does.

    result = await check_headers("https://shop.example.com/", options=TargetOptions(ca_file="ca.pem"))
    result.grade, result.score, result.evidence["tests"]["content-security-policy"]["result"]

Like the Observatory, both the http:// and the https:// side are fetched: by default the same host and path on
the default ports (80 and 443), or the URL given for each side; the URL given is always one of the two.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

from greenflag.readiness.base import CheckResult, Finding, Severity, Status
from greenflag.readiness.headers.collect import collect, page_meta
from greenflag.readiness.headers.grade import evaluate
from greenflag.readiness.headers.rules import run_tests
from greenflag.readiness.target import TargetOptions

__all__ = ["check_headers", "side_urls"]


def side_urls(url: str, http_url: str | None = None, https_url: str | None = None) -> tuple[str, str]:
    """The http:// and https:// URLs to fetch: the given URL for its own scheme, the other on its default port."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    other = "https" if parts.scheme == "http" else "http"
    default = urlunsplit((other, host, parts.path or "/", parts.query, ""))
    mine = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))
    if parts.scheme == "http":
        return mine, https_url or default
    return http_url or default, mine


async def check_headers(
    url: str,
    *,
    http_url: str | None = None,
    https_url: str | None = None,
    min_grade: str = "A+",
    options: TargetOptions | None = None,
) -> CheckResult:
    start = time.monotonic()
    options = options or TargetOptions()
    plain, secure = side_urls(url, http_url, https_url)
    facts, errors = await collect(plain, secure, options)
    auto = facts.auto
    elapsed = time.monotonic() - start
    if auto is None or auto.response is None:
        why = "; ".join(f"{side}: {error}" for side, error in errors.items()) or "no answer"
        finding = Finding("headers.unreachable", Severity.HIGH, f"Neither {plain} nor {secure} answered ({why}).")
        return CheckResult("headers", url, Status.ERROR, (finding,), evidence={"errors": errors}, duration_s=elapsed)
    status = auto.response.status
    if not 200 <= status < 300:
        where = auto.chain[-1][0]
        finding = Finding("headers.not_2xx", Severity.HIGH, f"{where} answered HTTP {status}, not 2xx.")
        return CheckResult("headers", url, Status.ERROR, (finding,), evidence={"status": status}, duration_s=elapsed)
    outcomes = run_tests(facts, page_meta(auto.response))
    evidence = {
        "urls": {"http": plain, "https": secure},
        "graded": auto.chain[-1][0],
        "response": {"status": status, "headers": {k.lower(): v for k, v in auto.response.headers}},
        "redirects": {"http": [list(hop) for hop in facts.http.chain] if facts.http else None,
                      "https": [list(hop) for hop in facts.https.chain] if facts.https else None},
        "verified": {"http": facts.http.verified if facts.http else None,
                     "https": facts.https.verified if facts.https else None},
        "errors": errors,
    }  # fmt: skip
    result = evaluate(url, outcomes, min_grade=min_grade, evidence=evidence)
    return CheckResult(result.name, result.target, result.status, result.findings, result.grade, result.score,
                       result.evidence, time.monotonic() - start)  # fmt: skip
