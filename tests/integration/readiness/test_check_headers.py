"""`check headers` against real servers with known headers: aiohttp on loopback (plain HTTP) and nginx over TLS
(HSTS, redirects, certificates made by trustme, `--ca-file`, `--resolve`). Each expected score is computed by hand
in a comment from the Observatory's modifiers: 100 + penalties, + bonuses only if 100 + penalties ≥ 90, ≥ 0."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from greenflag.readiness.base import Status
from greenflag.readiness.headers.check import check_headers, side_urls
from greenflag.readiness.target import TargetOptions, parse_resolve
from tests.nginx_support import have_nginx, nginx
from tests.support import free_port, greenflag_cmd

PAGE = "<!doctype html><html><head><title>t</title></head><body>{body}</body></html>"


async def serve(headers: dict[str, str], body: str = "", cookies: tuple[str, ...] = ()) -> web.AppRunner:
    async def page(request: web.Request) -> web.Response:
        response = web.Response(text=PAGE.format(body=body), content_type="text/html", headers=headers)
        for cookie in cookies:
            response.headers.add("Set-Cookie", cookie)
        return response

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


@pytest.fixture
async def closed_https() -> AsyncIterator[str]:
    yield f"https://127.0.0.1:{free_port()}/"  # nothing listens: the site has no HTTPS


async def test_plain_http_site_with_good_headers(closed_https: str) -> None:
    runner = await serve({"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
                          "X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin",
                          "Cross-Origin-Resource-Policy": "same-site"})  # fmt: skip
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        result = await check_headers(url, https_url=closed_https)
        tests = result.evidence["tests"]
        # csp default-src 'none' +10, cookies 0, cors 0, redirection-missing -20, referrer +5,
        # hsts-not-implemented-no-https -20, sri no scripts 0, nosniff 0, xfo via frame-ancestors +5, corp +10.
        # Penalties 100 - 40 = 60 < 90, so the +30 of bonuses is not counted: 60 → C+.
        assert result.score == 60 and result.grade == "C+"
        assert tests["redirection"]["result"] == "redirection-missing"
        assert tests["strict-transport-security"]["result"] == "hsts-not-implemented-no-https"
        assert tests["x-frame-options"]["result"] == "x-frame-options-implemented-via-csp"
        assert result.status is Status.FAIL and result.findings[0].id == "headers.grade_below_minimum"
        passing = await check_headers(url, https_url=closed_https, min_grade="C+")
        assert passing.ok and passing.status is Status.WARN
    finally:
        await runner.cleanup()


async def test_score_never_drops_below_zero(closed_https: str) -> None:
    runner = await serve({"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY"},
                         body='<script src="http://cdn.other.net/a.js"></script>',
                         cookies=("sessionid=1; HttpOnly",))  # fmt: skip
    try:
        result = await check_headers(f"http://127.0.0.1:{runner.addresses[0][1]}/", https_url=closed_https)
        tests = result.evidence["tests"]
        # csp no-unsafe +5 (plain HTTP: no insecure-scheme check), session cookie without Secure and no HSTS -40,
        # redirection-missing -20, hsts no https -20, external script over HTTP without integrity -50,
        # x-content-type-options missing -5, XFO DENY 0: 100 - 135 = -35 → 0 (F).
        assert tests["cookies"]["result"] == "cookies-session-without-secure-flag"
        sri = tests["subresource-integrity"]["result"]
        assert sri == "sri-not-implemented-and-external-scripts-not-loaded-securely"
        assert result.score == 0 and result.grade == "F"
    finally:
        await runner.cleanup()


def test_side_urls() -> None:
    assert side_urls("https://shop.example.com:8443/a?b=1") == ("http://shop.example.com/a?b=1",
                                                               "https://shop.example.com:8443/a?b=1")  # fmt: skip
    assert side_urls("http://127.0.0.1:8080/", https_url="https://127.0.0.1:8443/") == (
        "http://127.0.0.1:8080/", "https://127.0.0.1:8443/")  # fmt: skip


async def test_nothing_answers_is_an_error_not_a_grade(closed_https: str) -> None:
    result = await check_headers(f"http://127.0.0.1:{free_port()}/", https_url=closed_https)
    assert result.status is Status.ERROR and not result.ok and result.grade is None
    assert result.findings[0].id == "headers.unreachable"


# --- nginx over TLS --------------------------------------------------------------------------------------------

HARDENED = """
    add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
    add_header Content-Security-Policy
      "default-src 'none'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'" always;
    add_header X-Content-Type-Options nosniff always;
    add_header Referrer-Policy no-referrer always;
    add_header Cross-Origin-Resource-Policy same-origin always;
    add_header Set-Cookie "sessionid=abc; Path=/; Secure; HttpOnly; SameSite=Strict" always;"""
WEAK = """
    add_header Content-Security-Policy "default-src 'self'; script-src 'self' 'unsafe-inline'" always;
    add_header X-Frame-Options SAMEORIGIN always;
    add_header Set-Cookie "sessionid=abc; Path=/; Secure" always;"""
SCRIPT_PAGE = '<html><body><script src="/app.js" integrity="sha384-abc" crossorigin="anonymous"></script></body></html>'


@pytest.fixture(scope="module")
def tls_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int | str]]:
    if not have_nginx():
        pytest.skip("needs nginx")
    work = tmp_path_factory.mktemp("nginx-tls")
    ca, stranger = trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(str(work / "ca.pem"))
    for name, authority in (("good", ca), ("untrusted", stranger)):
        cert = authority.issue_cert("shop.test")
        cert.private_key_pem.write_to_path(str(work / f"{name}.key"))
        cert.cert_chain_pems[0].write_to_path(str(work / f"{name}.crt"))
        for extra in cert.cert_chain_pems[1:]:
            extra.write_to_path(str(work / f"{name}.crt"), append=True)
    ports = {key: free_port() for key in ("https", "http", "weak_https", "weak_http", "bad_https", "bad_http")}

    def tls(port: int, cert: str, headers: str, page: str) -> str:
        return f"""server {{
    listen 127.0.0.1:{port} ssl; server_name shop.test;
    ssl_certificate {work}/{cert}.crt; ssl_certificate_key {work}/{cert}.key;{headers}
    location = / {{ default_type text/html; return 200 '{page}'; }}
    location = /app.js {{ default_type application/javascript; return 200 'console.log(1)'; }}
  }}"""

    body = "\n  ".join([
        tls(ports["https"], "good", HARDENED, SCRIPT_PAGE),
        f"server {{ listen 127.0.0.1:{ports['http']}; return 301 https://shop.test:{ports['https']}$request_uri; }}",
        tls(ports["weak_https"], "good", WEAK, "<html><body>hi</body></html>"),
        f"server {{ listen 127.0.0.1:{ports['weak_http']}; "
        "location / { default_type text/html; return 200 'hi'; } }",
        tls(ports["bad_https"], "untrusted", HARDENED, "<html><body>hi</body></html>"),
        f"server {{ listen 127.0.0.1:{ports['bad_http']}; return 301 https://shop.test:{ports['bad_https']}/; }}",
    ])  # fmt: skip
    with nginx(work, body, list(ports.values())):
        yield {**ports, "ca": str(work / "ca.pem")}


def pinned(sites: dict[str, int | str], *keys: str) -> TargetOptions:
    entries = tuple(parse_resolve(f"shop.test:{sites[key]}:127.0.0.1") for key in keys)
    return TargetOptions(resolve=entries, ca_file=str(sites["ca"]))


async def test_hardened_tls_site_is_a_plus(tls_sites: dict[str, int | str]) -> None:
    url = f"https://shop.test:{tls_sites['https']}/"
    result = await check_headers(url, http_url=f"http://shop.test:{tls_sites['http']}/",
                                 options=pinned(tls_sites, "https", "http"))  # fmt: skip
    tests = {name: test["result"] for name, test in result.evidence["tests"].items()}
    # No penalties: 100 + csp default-src 'none' 10 + cookies Secure/HttpOnly/SameSite 5 + referrer 5 + SRI on a
    # same-origin script over HTTPS 5 + XFO via frame-ancestors 5 + CORP same-origin 10 = 140 → A+.
    assert tests["redirection"] == "redirection-to-https"
    assert tests["strict-transport-security"] == "hsts-implemented-max-age-at-least-six-months"
    assert tests["cookies"] == "cookies-secure-with-httponly-sessions-and-samesite"
    assert tests["subresource-integrity"] == "sri-implemented-and-all-scripts-loaded-securely"
    assert result.score == 140 and result.grade == "A+" and result.status is Status.PASS
    assert result.evidence["redirects"]["http"] == [[f"http://shop.test:{tls_sites['http']}/", 301], [url, 200]]


async def test_weak_tls_site(tls_sites: dict[str, int | str]) -> None:
    result = await check_headers(f"https://shop.test:{tls_sites['weak_https']}/",
                                 http_url=f"http://shop.test:{tls_sites['weak_http']}/",
                                 options=pinned(tls_sites, "weak_https", "weak_http"))  # fmt: skip
    tests = {name: test["result"] for name, test in result.evidence["tests"].items()}
    # csp 'unsafe-inline' in script-src -20, session cookie without HttpOnly -30, redirection-missing -20,
    # hsts-not-implemented -20, x-content-type-options missing -5, XFO SAMEORIGIN 0: 100 - 95 = 5 → F.
    assert tests["content-security-policy"] == "csp-implemented-with-unsafe-inline"
    assert tests["cookies"] == "cookies-session-without-httponly-flag"
    assert result.score == 5 and result.grade == "F"


async def test_untrusted_certificate(tls_sites: dict[str, int | str]) -> None:
    result = await check_headers(f"https://shop.test:{tls_sites['bad_https']}/",
                                 http_url=f"http://shop.test:{tls_sites['bad_http']}/",
                                 options=pinned(tls_sites, "bad_https", "bad_http"))  # fmt: skip
    tests = {name: test["result"] for name, test in result.evidence["tests"].items()}
    # The same headers as the A+ site, but the certificate is from a CA --ca-file does not trust: hsts-invalid-cert
    # -20 and redirection-invalid-cert -20; 60 < 90, so no bonuses: 60 → C+.
    assert tests["strict-transport-security"] == "hsts-invalid-cert"
    assert tests["redirection"] == "redirection-invalid-cert"
    assert result.evidence["verified"] == {"http": False, "https": False}
    assert result.score == 60 and result.grade == "C+"


def test_cli(tls_sites: dict[str, int | str]) -> None:
    https, http = tls_sites["https"], tls_sites["http"]
    args = ["check", "headers", f"https://shop.test:{https}/", "--http-url", f"http://shop.test:{http}/",
            "--resolve", f"shop.test:{https}:127.0.0.1", "--resolve", f"shop.test:{http}:127.0.0.1",
            "--ca-file", str(tls_sites["ca"])]  # fmt: skip
    done = subprocess.run(greenflag_cmd(*args, "--json"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["grade"] == "A+" and report["score"] == 140 and report["findings"] == []
    text = subprocess.run(greenflag_cmd(*args), capture_output=True, text=True, timeout=60)
    assert text.returncode == 0 and "A+" in text.stdout and "redirection-to-https" in text.stdout
    # without --ca-file the trustme CA is unknown: the grade drops and the command says not ready (exit 4)
    untrusted = subprocess.run(greenflag_cmd(*args[:-2], "--json"), capture_output=True, text=True, timeout=60)
    assert untrusted.returncode == 4 and json.loads(untrusted.stdout)["grade"] == "C+"
    bad = subprocess.run(greenflag_cmd("check", "headers", "shop.test"), capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "expected http(s)://" in bad.stderr and "Traceback" not in bad.stderr
    missing = Path(str(tls_sites["ca"])).with_name("nope.pem")
    bad = subprocess.run(greenflag_cmd(*args[:-1], str(missing)), capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--ca-file" in bad.stderr
