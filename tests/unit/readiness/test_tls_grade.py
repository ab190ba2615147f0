"""The 2009r grade as a pure function: one row per rule, on handshake facts written down by hand (including
RC4, 3DES, SSL 3.0, export and NULL suites, which no server on this machine can offer)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from greenflag.readiness.tls.evaluate import evaluate
from greenflag.readiness.tls.facts import AcceptedSuite, CertFacts, ProtocolSupport, TlsFacts, parse_hsts
from greenflag.readiness.tls.grade import grade, letter
from greenflag.readiness.tls.suites import Protocol, suite_by_code, suites_for

P = Protocol


def suite(name: str):  # type: ignore[no-untyped-def]
    found = [s for p in Protocol for s in suites_for(p) if s.name == name]
    assert found, name
    return found[0]


CERT = CertFacts(subject="shop.example", issuer="CN=CA", names=("shop.example",), not_before="2026-01-01T00:00:00",
                 not_after="2027-01-01T00:00:00", days_left=200, not_yet_valid=False, key_type="RSA", key_bits=2048,
                 rsa_exponent=65537, signature_hash="sha256", chain_signature_hashes=("sha256",), name_match=True,
                 trusted=True, trust_error=None, self_signed=False, chain_complete=True,
                 served_chain=("shop.example", "CA"))  # fmt: skip
MODERN_SUITES = (
    (P.TLS1_2, "ECDHE-RSA-AES128-GCM-SHA256"), (P.TLS1_2, "ECDHE-RSA-AES256-GCM-SHA384"),
    (P.TLS1_3, "TLS_AES_128_GCM_SHA256"), (P.TLS1_3, "TLS_AES_256_GCM_SHA384"),
)  # fmt: skip


def facts(protocols: tuple[Protocol, ...] = (P.TLS1_2, P.TLS1_3), suites=MODERN_SUITES, *,  # type: ignore[no-untyped-def]
          cert: CertFacts | None = CERT, hsts: str | None = "max-age=63072000; includeSubDomains; preload",
          reneg: bool | None = True, modern: str | None = None, groups: dict[str, str] | None = None,
          dh: int | None = None) -> TlsFacts:  # fmt: skip
    support = tuple(ProtocolSupport(p, p in protocols) for p in Protocol if p is not P.SSL2)
    accepted = tuple(AcceptedSuite(p, suite(n), dh if n.startswith("DHE") else None, (groups or {}).get(n))
                     for p, n in suites)  # fmt: skip
    return TlsFacts("shop.example", 443, "shop.example", (ProtocolSupport(P.SSL2, False), *support), accepted,
                    modern_choice=suite(modern) if modern else None, secure_renegotiation=reneg, cert=cert,
                    hsts=parse_hsts(hsts))  # fmt: skip


LEGACY_12 = ((P.TLS1_2, "ECDHE-RSA-AES128-GCM-SHA256"), (P.TLS1_3, "TLS_AES_128_GCM_SHA256"))
# id → (facts, grade, caps, warnings, (protocol, key, cipher, final) or None)
TABLE = {
    "modern": (facts(), "A+", set(), set(), (100, 90, 90, 93)),
    "no hsts": (facts(hsts=None), "A-", set(), {"hsts_missing"}, None),
    "hsts max-age=0": (facts(hsts="max-age=0"), "A-", set(), {"hsts_disabled"}, None),
    "hsts too short": (facts(hsts="max-age=15551999"), "A-", set(), {"hsts_short"}, None),
    "hsts 180 days is enough": (facts(hsts="max-age=15552000"), "A+", set(), set(), None),
    "hsts invalid": (facts(hsts="max-age=abc"), "A-", set(), {"hsts_invalid"}, None),
    "tls 1.2 only": (facts((P.TLS1_2,), MODERN_SUITES[:2]), "A-", set(), {"no_tls13"}, (100, 90, 90, 93)),
    "no secure renegotiation": (facts(reneg=False), "A-", set(), {"no_secure_renegotiation"}, None),
    "tls 1.0 offered": (facts((P.TLS1_0, P.TLS1_2, P.TLS1_3), ((P.TLS1_0, "ECDHE-RSA-AES128-SHA"), *MODERN_SUITES)),
                        "B", {"tls10_tls11"}, set(), (95, 90, 90, 91)),
    "tls 1.1 offered": (facts((P.TLS1_1, P.TLS1_2, P.TLS1_3), ((P.TLS1_1, "ECDHE-RSA-AES128-SHA"), *MODERN_SUITES)),
                        "B", {"tls10_tls11"}, set(), (97, 90, 90, 92)),
    "1024-bit rsa key": (facts(cert=replace(CERT, key_bits=1024)), "B", {"weak_key"}, set(), (100, 80, 90, 90)),
    "512-bit rsa key": (facts(cert=replace(CERT, key_bits=512)), "F", {"insecure_key"}, set(), (100, 40, 90, 78)),
    "4096-bit rsa key": (facts(cert=replace(CERT, key_bits=4096)), "A+", set(), set(), (100, 100, 90, 96)),
    "p-256 ecdsa": (facts(cert=replace(CERT, key_type="EC", key_bits=256)), "A+", set(), set(), (100, 100, 90, 96)),
    "1024-bit dh params": (facts(suites=((P.TLS1_2, "DHE-RSA-AES128-GCM-SHA256"), *MODERN_SUITES), dh=1024), "B",
                           {"weak_key"}, set(), (100, 80, 90, 90)),
    "rc4 on tls 1.2": (facts(suites=((P.TLS1_2, "RC4-SHA"), *MODERN_SUITES)), "C", {"rc4", "rc4_tls11"}, set(),
                       (100, 90, 90, 93)),
    "rc4 on tls 1.0 only": (facts((P.TLS1_0, P.TLS1_2, P.TLS1_3), ((P.TLS1_0, "RC4-SHA"), *MODERN_SUITES)), "B",
                            {"rc4", "tls10_tls11"}, set(), None),
    "3des on tls 1.2 (sweet32)": (facts(suites=((P.TLS1_2, "DES-CBC3-SHA"), *MODERN_SUITES)), "C", {"sweet32"},
                                  set(), (100, 90, 60, 81)),
    "3des on tls 1.0 only": (facts((P.TLS1_0, P.TLS1_2, P.TLS1_3), ((P.TLS1_0, "DES-CBC3-SHA"), *MODERN_SUITES)),
                             "B", {"tls10_tls11"}, set(), (95, 90, 60, 79)),
    "des (56 bits)": (facts(suites=((P.TLS1_2, "DES-CBC-SHA"), *MODERN_SUITES)), "F", {"weak_cipher", "sweet32"},
                      set(), (100, 90, 60, 81)),
    "export suite": (facts(suites=((P.TLS1_2, "EXP-RC4-MD5"), *MODERN_SUITES)), "F",
                     {"export_suites", "weak_cipher", "rc4", "rc4_tls11", "insecure_key"}, set(), (100, 40, 60, 66)),
    "null cipher caps at f": (facts(suites=((P.TLS1_2, "NULL-SHA"), *MODERN_SUITES)), "F", {"weak_cipher"},
                              set(), (100, 90, 50, 77)),  # the weakest suite scores 0, the category (100 + 0) / 2
    "anonymous suite zeroes the total": (facts(suites=((P.TLS1_2, "ADH-AES128-GCM-SHA256"), *MODERN_SUITES)), "F",
                                         set(), set(), (100, 0, 90, 0)),
    "sslv3 offered": (facts((P.SSL3, P.TLS1_2, P.TLS1_3), ((P.SSL3, "RC4-SHA"), *MODERN_SUITES)), "B",
                      {"sslv3", "rc4"}, set(), (90, 90, 90, 90)),
    "sslv3 with cbc (poodle)": (facts((P.SSL3, P.TLS1_2, P.TLS1_3), ((P.SSL3, "AES128-SHA"), *MODERN_SUITES)), "C",
                                {"sslv3", "poodle_ssl3"},
                                set(), None),
    "sslv3 only": (facts((P.SSL3,), ((P.SSL3, "AES128-SHA"),), hsts=None), "F",
                   {"sslv3_best", "sslv3", "poodle_ssl3", "no_tls12", "no_forward_secrecy", "no_aead"},
                   {"no_tls13", "hsts_missing"}, (80, 90, 80, 83)),
    "no tls 1.2 or 1.3": (facts((P.TLS1_0, P.TLS1_1), ((P.TLS1_0, "ECDHE-RSA-AES128-SHA"),
                                                        (P.TLS1_1, "ECDHE-RSA-AES128-SHA"))), "C",
                          {"no_tls12", "tls10_tls11", "no_aead"}, {"no_tls13"}, (92, 90, 80, 86)),
    "no forward secrecy": (facts((P.TLS1_2,), ((P.TLS1_2, "AES128-GCM-SHA256"),)), "B", {"no_forward_secrecy"},
                           {"no_tls13"}, None),
    "fs offered but not to modern clients": (facts((P.TLS1_2,), ((P.TLS1_2, "AES128-GCM-SHA256"),
                                                                 (P.TLS1_2, "ECDHE-RSA-AES128-GCM-SHA256")),
                                                   modern="AES128-GCM-SHA256"), "B", {"no_forward_secrecy"},
                                             {"no_tls13"}, None),
    "no aead": (facts((P.TLS1_2,), ((P.TLS1_2, "ECDHE-RSA-AES128-SHA"),)), "B", {"no_aead"}, {"no_tls13"}, None),
    "tls 1.3 clients get fs+aead": (facts(suites=((P.TLS1_2, "AES128-SHA"), *MODERN_SUITES[2:])), "A+", set(), set(),
                                    None),
    "incomplete chain": (facts(cert=replace(CERT, chain_complete=False)), "B", {"incomplete_chain"}, set(), None),
    "name mismatch": (facts(cert=replace(CERT, name_match=False)), "M", {"name_mismatch"}, set(), None),
    "expired": (facts(cert=replace(CERT, days_left=-3)), "T", {"expired"}, set(), None),
    "not yet valid": (facts(cert=replace(CERT, not_yet_valid=True)), "T", {"not_yet_valid"}, set(), None),
    "untrusted": (facts(cert=replace(CERT, trusted=False, trust_error="self-signed")), "T", {"untrusted"}, set(),
                  None),
    "sha-1 signature": (facts(cert=replace(CERT, signature_hash="sha1")), "T", {"sha1_signature"}, set(), None),
    "sha-1 intermediate": (facts(cert=replace(CERT, chain_signature_hashes=("sha1",))), "T", {"sha1_signature"},
                           set(), None),
    "md5 signature": (facts(cert=replace(CERT, signature_hash="md5")), "F", {"md5_signature"}, set(), None),
    "rsa exponent 1": (facts(cert=replace(CERT, rsa_exponent=1)), "F", {"rsa_exponent_1"}, set(), None),
    "revoked (stapled)": (facts(cert=replace(CERT, ocsp_stapled=True, ocsp_status="revoked")), "T", {"revoked"},
                          set(), None),
    "t outranks m": (facts(cert=replace(CERT, name_match=False, days_left=-1)), "T", {"name_mismatch", "expired"},
                     set(), None),
    "no certificate": (facts(cert=None), "T", {"no_certificate"}, set(), None),
}  # fmt: skip


@pytest.mark.parametrize("case", list(TABLE))
def test_grade_rules(case: str) -> None:
    given, expected_grade, expected_caps, expected_warnings, scores = TABLE[case]
    graded = grade(given)
    assert graded.grade == expected_grade, graded.to_json()
    assert {c.id for c in graded.caps} == expected_caps
    assert {w.id for w in graded.warnings} == expected_warnings
    if scores is not None:
        assert (graded.protocol_score, graded.key_exchange_score, graded.cipher_strength_score, graded.score) == scores


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (100, "A"),
        (80, "A"),
        (79, "B"),
        (65, "B"),
        (64, "C"),
        (50, "C"),
        (49, "D"),
        (35, "D"),
        (34, "E"),
        (20, "E"),
        (19, "F"),
        (0, "F"),
    ],
)
def test_score_letters(score: int, expected: str) -> None:
    assert letter(score) == expected


def test_grade_if_trusted_keeps_the_hidden_grade() -> None:
    graded = grade(facts((P.TLS1_0, P.TLS1_2, P.TLS1_3), ((P.TLS1_0, "ECDHE-RSA-AES128-SHA"), *MODERN_SUITES),
                         cert=replace(CERT, days_left=-1)))  # fmt: skip
    assert (graded.grade, graded.grade_if_trusted) == ("T", "B")


def test_json_names_the_guide_every_cap_and_warning() -> None:
    body = grade(facts((P.TLS1_2,), MODERN_SUITES[:2], hsts=None)).to_json()
    assert body["guide"] == "SSL Labs SSL Server Rating Guide 2009r"
    assert body["scores"] == {"protocol_support": 100, "key_exchange": 90, "cipher_strength": 90, "final": 93}
    assert [w["id"] for w in body["warnings"]] == ["no_tls13", "hsts_missing"]
    assert all(w["reason"] and w["rule"] for w in body["warnings"])
    assert "Heartbleed (F)" in body["not_tested"]


def test_unprobed_protocol_is_listed_as_not_tested_never_absent() -> None:
    given = facts()
    given = replace(given, protocols=(ProtocolSupport(P.SSL2, None, "not tested"), *given.protocols[1:]))
    assert "SSLv2 (F)" in grade(given).not_tested


def test_evaluate_status_and_findings() -> None:
    status, found = evaluate(facts(), grade(facts()))
    assert str(status) == "pass" and {f.id for f in found} == {"tls.ocsp.not_stapled"}
    weak = facts(cert=replace(CERT, key_bits=1024))
    status, found = evaluate(weak, grade(weak))
    assert str(status) == "fail" and {"tls.grade.below_minimum", "tls.cap.weak_key"} <= {f.id for f in found}
    status, _ = evaluate(weak, grade(weak), min_grade="B")
    assert str(status) == "warn"
    soon = facts(cert=replace(CERT, days_left=5))
    status, found = evaluate(soon, grade(soon))
    assert str(status) == "fail" and "tls.cert.expires_soon" in {f.id for f in found}
    staple = facts(cert=replace(CERT, must_staple=True))
    assert "tls.ocsp.must_staple_missing" in {f.id for f in evaluate(staple, grade(staple))[1]}


@pytest.mark.parametrize(("header", "max_age", "sub", "preload", "error"), [
    ("max-age=31536000; includeSubDomains; preload", 31536000, True, True, None),
    ('MAX-AGE="600"', 600, False, False, None),
    ("includeSubDomains", None, True, False, "max-age is missing"),
    ("max-age=1; max-age=2", None, False, False, "directive 'max-age' appears twice"),
    ("max-age=-5", None, False, False, "max-age '-5' is not a number of seconds"),
])  # fmt: skip
def test_hsts_parsing(header: str, max_age: int | None, sub: bool, preload: bool, error: str | None) -> None:
    parsed = parse_hsts(header)
    assert (parsed.max_age, parsed.error) == (max_age, error)
    if error is None:
        assert (parsed.include_subdomains, parsed.preload) == (sub, preload)


def test_suite_table_facts() -> None:
    assert suite_by_code(0xC02F) is not None and suite_by_code(0xC02F).name == "ECDHE-RSA-AES128-GCM-SHA256"  # type: ignore[union-attr]
    des3 = suite("DES-CBC3-SHA")
    assert (des3.code, des3.bits, des3.block_64bit, des3.forward_secret) == (0x000A, 112, True, False)
    assert all(s.forward_secret and s.aead for s in suites_for(P.TLS1_3))
    assert not any(s.aead for s in suites_for(P.TLS1_0))  # AEAD suites are TLS 1.2+
    assert len({s.code for p in Protocol for s in suites_for(p)}) == len({s.code for s in suites_for(P.TLS1_2)}) + 5
