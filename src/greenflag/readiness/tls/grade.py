"""The TLS grade: SSL Labs' SSL Server Rating Guide, revision 2009r, as testssl.sh's `run_rating` executes it.

Pure: facts in, grade out. Method (guide §"Methodology overview"): score protocol support (30 %), key exchange
(30 %) and cipher strength (40 %); a zero in any category makes the total zero; the total maps to a letter;
caps then lower it (F, C, B), and the certificate can replace it with T (not trusted) or M (name mismatch).
A numeric A with no cap is A+ when there is no warning, A- otherwise (testssl.sh `run_rating`, final grade).
Each rule below names its source; the sources are the guide (2009e/2009r), the Qualys SSL Labs blog posts that
changed it, and testssl.sh's functions that apply it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from greenflag.readiness.tls.facts import AcceptedSuite, TlsFacts
from greenflag.readiness.tls.hello import group_bits
from greenflag.readiness.tls.suites import Protocol

__all__ = ["GRADE_ORDER", "GUIDE", "HSTS_MIN_AGE", "Cap", "Grade", "RatingWarning", "grade", "worse"]

__pure__ = True

GUIDE = "SSL Labs SSL Server Rating Guide 2009r"

# Best first. T and M are "out of scope" grades (guide 2009e §certificate): they replace every other grade.
GRADE_ORDER = ("A+", "A", "A-", "B", "C", "D", "E", "F", "M", "T")

# Guide 2009e "Protocol support" table, with 2009r's changes as in testssl.sh `run_rating`: SSL 2.0 scores 0,
# TLS 1.3 scores 100 like TLS 1.2.
PROTOCOL_SCORES = {Protocol.SSL2: 0, Protocol.SSL3: 80, Protocol.TLS1_0: 90, Protocol.TLS1_1: 95,
                   Protocol.TLS1_2: 100, Protocol.TLS1_3: 100}  # fmt: skip
# Guide 2009e "Numerical score → grade" table.
LETTERS = ((80, "A"), (65, "B"), (50, "C"), (35, "D"), (20, "E"))
# testssl.sh HSTS_MIN: 180 days; a shorter max-age is a 2009r warning (testssl.sh commit 3e465baf).
HSTS_MIN_AGE = 180 * 86400


@dataclass(frozen=True)
class Cap:
    id: str
    grade: str  # the best grade still possible
    reason: str
    rule: str  # where the rule comes from

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "grade": self.grade, "reason": self.reason, "rule": self.rule}


@dataclass(frozen=True)
class RatingWarning:
    id: str
    reason: str
    rule: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "reason": self.reason, "rule": self.rule}


@dataclass(frozen=True)
class Grade:
    protocol_score: int
    key_exchange_score: int
    cipher_strength_score: int
    score: int
    score_grade: str  # the letter of the numeric score alone
    caps: tuple[Cap, ...]
    warnings: tuple[RatingWarning, ...]
    grade: str
    grade_if_trusted: str  # the grade with T and M set aside, as SSL Labs shows it beside a T
    not_tested: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"guide": GUIDE, "grade": self.grade, "grade_if_trusted": self.grade_if_trusted,
                "scores": {"protocol_support": self.protocol_score, "key_exchange": self.key_exchange_score,
                           "cipher_strength": self.cipher_strength_score, "final": self.score},
                "score_grade": self.score_grade, "caps": [c.to_json() for c in self.caps],
                "warnings": [w.to_json() for w in self.warnings], "not_tested": list(self.not_tested)}  # fmt: skip


def worse(a: str, b: str) -> str:
    return a if GRADE_ORDER.index(a) >= GRADE_ORDER.index(b) else b


def letter(score: int) -> str:
    return next((grade for floor, grade in LETTERS if score >= floor), "F")


# --- the three categories ---------------------------------------------------------------------------------------


def protocol_score(facts: TlsFacts) -> int:
    """Guide 2009e "Protocol support": the average of the best and the worst protocol offered."""
    scores = [PROTOCOL_SCORES[p] for p in facts.offered_protocols]
    return (max(scores) + min(scores)) // 2 if scores else 0


def rsa_strength(bits: int) -> int:
    """RSA, DSA and DH sizes: guide 2009e "Key exchange" table; testssl.sh `set_key_str_score`."""
    return 20 if bits < 512 else 40 if bits < 1024 else 80 if bits < 2048 else 90 if bits < 4096 else 100


def ec_strength(bits: int) -> int:
    """EC and EdDSA sizes: testssl.sh `set_key_str_score` (P-256 and X25519 score 100)."""
    return 20 if bits < 110 else 40 if bits < 123 else 80 if bits < 163 else 90 if bits < 225 else 100


def key_exchange_score(facts: TlsFacts) -> int:
    """The weakest key the server uses: certificate key, DH primes, ECDHE groups (testssl.sh keeps the minimum).

    Guide 2009e: anonymous key exchange scores 0, exportable key exchange 40, and DH parameters bound the score
    ("never go above 1024 bits [with 1024-bit DH params], even if the private key is stronger").
    """
    scores: list[int] = []
    if facts.cert is not None:
        kind, bits = facts.cert.key_type, facts.cert.key_bits
        scores.append(ec_strength(bits) if kind in ("EC", "Ed25519", "Ed448") else rsa_strength(bits))
    for accepted in facts.suites:
        if accepted.suite.anonymous:
            scores.append(0)
        elif accepted.suite.export:
            scores.append(40)
        if accepted.dh_bits:
            scores.append(rsa_strength(accepted.dh_bits))
        group = group_bits(accepted.group) if accepted.group else None
        if group:
            scores.append(rsa_strength(group) if accepted.group and accepted.group.startswith("ffdhe")
                          else ec_strength(group))  # fmt: skip
    return min(scores) if scores else 0


def cipher_bits_score(bits: int) -> int:
    """Guide 2009e "Cipher strength" table."""
    return 0 if bits == 0 else 20 if bits < 128 else 80 if bits < 256 else 100


def cipher_strength_score(facts: TlsFacts) -> int:
    """Guide 2009e: the average of the strongest and the weakest cipher offered."""
    scores = [cipher_bits_score(a.suite.bits) for a in facts.suites]
    return (max(scores) + min(scores)) // 2 if scores else 0


# --- caps ------------------------------------------------------------------------------------------------------


def _suites(facts: TlsFacts, test: Callable[[AcceptedSuite], bool]) -> list[str]:
    return sorted({f"{a.suite.name} ({a.protocol.value})" for a in facts.suites if test(a)})


def _listed(names: list[str]) -> str | None:
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "") if names else None


def _modern_lacks(facts: TlsFacts, prop: Callable[[AcceptedSuite], bool]) -> str | None:
    """Qualys 2018-03-01 (FS/AEAD): only a problem when clients that can do better do not get it. Clients that
    speak TLS 1.3 always get both; otherwise the server must pick such a suite for a modern client's hello."""
    if facts.offered(Protocol.TLS1_3):
        return None
    if not any(prop(a) for a in facts.suites):
        return "no suite offered has it"
    if facts.modern_choice is not None and not prop(AcceptedSuite(Protocol.TLS1_2, facts.modern_choice)):
        return f"a modern client gets {facts.modern_choice.name}"
    return None


CapRule = tuple[str, str, str, Callable[[TlsFacts, int], str | None]]

# (id, cap, source, test → reason or None). `key` is the key-exchange score.
CAP_RULES: tuple[CapRule, ...] = (
    ("sslv2", "F", "guide 2009e; testssl.sh run_protocols", lambda f, key: "SSL 2.0 is offered" if f.offered(
        Protocol.SSL2) else None),
    ("sslv3_best", "F", "guide 2009r; testssl.sh run_protocols", lambda f, key: "SSL 3.0 is the best protocol offered"
        if f.offered_protocols == (Protocol.SSL3,) else None),
    ("insecure_key", "F", "Qualys 2014 'stricter requirements' (keys < 1024 bits); testssl.sh set_key_str_score",
        lambda f, key: f"key exchange score {key} (a key or DH group below 1024 bits)" if 0 < key <= 40 else None),
    ("md5_signature", "F", "guide 2009e (MD2/MD5 signatures); testssl.sh run_server_defaults",
        lambda f, key: "the certificate chain is signed with MD5/MD2" if f.cert and {"md5", "md2"} & {
            f.cert.signature_hash, *f.cert.chain_signature_hashes} else None),
    ("rsa_exponent_1", "F", "testssl.sh run_server_defaults (RSA exponent 1)",
        lambda f, key: "the RSA public exponent is 1" if f.cert and f.cert.rsa_exponent == 1 else None),
    ("export_suites", "F", "guide 2009e (exportable suites); testssl.sh run_freak",
        lambda f, key: _listed(_suites(f, lambda a: a.suite.export))),
    ("weak_cipher", "F", "testssl.sh set_ciph_str_score (any suite below 112 bits)",
        lambda f, key: _listed(_suites(f, lambda a: a.suite.bits < 112))),
    ("no_tls12", "C", "Qualys 2017-01-18 'grading changes' (no TLS 1.2)", lambda f, key: "neither TLS 1.2 nor 1.3 is "
        "offered" if f.offered_protocols and not (f.offered(Protocol.TLS1_2) or f.offered(Protocol.TLS1_3)) else None),
    ("sweet32", "C", "Qualys 2016-11-16 'grading changes for 2017' (3DES/64-bit blocks with TLS 1.1+)",
        lambda f, key: _listed(_suites(f, lambda a: a.suite.block_64bit and a.protocol.rank >= Protocol.TLS1_1.rank))),
    ("rc4_tls11", "C", "Qualys 2016-11-16 'grading changes for 2017' (RC4 with TLS 1.1+)",
        lambda f, key: _listed(_suites(f, lambda a: a.suite.rc4 and a.protocol.rank >= Protocol.TLS1_1.rank))),
    ("poodle_ssl3", "C", "testssl.sh run_ssl_poodle (SSL 3.0 with CBC suites)",
        lambda f, key: _listed(_suites(f, lambda a: a.protocol is Protocol.SSL3 and a.suite.cbc))),
    ("sslv3", "B", "guide 2009r; testssl.sh run_protocols", lambda f, key: "SSL 3.0 is offered" if f.offered(
        Protocol.SSL3) else None),
    ("tls10_tls11", "B", "Qualys 2018-11-19 'grade change for TLS 1.0 and 1.1' (live 2020-01-31)",
        lambda f, key: _listed([p.value for p in (Protocol.TLS1_0, Protocol.TLS1_1) if f.offered(p)])),
    ("weak_key", "B", "Qualys 2014 'stricter requirements' (keys < 2048 bits); testssl.sh set_key_str_score",
        lambda f, key: f"key exchange score {key} (a key or DH group below 2048 bits)" if 40 < key <= 80 else None),
    ("no_forward_secrecy", "B", "Qualys 2018-02-02 'forward secrecy, authenticated encryption and ROBOT'",
        lambda f, key: _modern_lacks(f, lambda a: a.suite.forward_secret) if f.suites else None),
    ("no_aead", "B", "Qualys 2018-02-02 'forward secrecy, authenticated encryption and ROBOT'",
        lambda f, key: _modern_lacks(f, lambda a: a.suite.aead) if f.suites else None),
    ("rc4", "B", "Qualys 2014 'stricter requirements' (RC4)",
        lambda f, key: _listed(_suites(f, lambda a: a.suite.rc4))),
    ("incomplete_chain", "B", "testssl.sh run_server_defaults ('Issues with chain of trust'); Qualys 2014",
        lambda f, key: "the server does not send the intermediate certificates; clients must fetch them"
        if f.cert and f.cert.trusted and not f.cert.chain_complete else None),
    ("name_mismatch", "M", "guide 2009e (name mismatch → M)", lambda f, key: f"the certificate is for "
        f"{', '.join(f.cert.names[:4]) or f.cert.subject}" if f.cert and not f.cert.name_match else None),
    ("expired", "T", "guide 2009e; testssl.sh (expired → T)", lambda f, key: f"the certificate expired on "
        f"{f.cert.not_after}" if f.cert and f.cert.expired else None),
    ("not_yet_valid", "T", "guide 2009e (not yet valid)", lambda f, key: f"the certificate is valid only from "
        f"{f.cert.not_before}" if f.cert and f.cert.not_yet_valid else None),
    ("untrusted", "T", "guide 2009e (self-signed, untrusted); testssl.sh (chain of trust → T)",
        lambda f, key: (f.cert.trust_error or "the chain does not reach a trusted root") if f.cert and not
        f.cert.trusted else None),
    ("sha1_signature", "T", "testssl.sh run_server_defaults (SHA-1 signature → T)",
        lambda f, key: "the certificate chain is signed with SHA-1" if f.cert and "sha1" in {
            f.cert.signature_hash, *f.cert.chain_signature_hashes} else None),
    ("revoked", "T", "guide 2009e (revoked)", lambda f, key: "the stapled OCSP response says revoked"
        if f.cert and f.cert.ocsp_status == "revoked" else None),
    ("no_certificate", "T", "guide 2009e (certificate inspection)", lambda f, key: "no certificate could be read"
        if f.cert is None else None),
)  # fmt: skip

# What a full SSL Labs or testssl.sh scan also tests and this scan does not: the caps they could add.
NOT_TESTED = ("Heartbleed (F)", "OpenSSL CCS injection (F)", "Ticketbleed (F)", "ROBOT (F)", "DROWN (F)",
              "POODLE over TLS (F)", "insecure client-initiated renegotiation (F)",
              "CRIME/TLS compression (C)")  # fmt: skip


# --- warnings --------------------------------------------------------------------------------------------------


def warnings(facts: TlsFacts) -> list[RatingWarning]:
    """The 2009r warning set (testssl.sh commit 3e465baf): each one turns A+ into A-."""
    out: list[RatingWarning] = []
    if not facts.offered(Protocol.TLS1_3):
        out.append(RatingWarning("no_tls13", "TLS 1.3 is not offered", "guide 2009r (TLS 1.3 not supported)"))
    hsts = facts.hsts
    rule = "guide 2009r (HSTS moved from cap A to warning); testssl.sh run_hsts, HSTS_MIN = 180 days"
    if hsts is None or hsts.header is None:
        out.append(RatingWarning("hsts_missing", "no Strict-Transport-Security header", rule))
    elif hsts.error is not None:
        out.append(RatingWarning("hsts_invalid", f"Strict-Transport-Security is misconfigured: {hsts.error}", rule))
    elif hsts.max_age == 0:
        out.append(RatingWarning("hsts_disabled", "Strict-Transport-Security max-age=0 turns HSTS off", rule))
    elif hsts.max_age is not None and hsts.max_age < HSTS_MIN_AGE:
        out.append(RatingWarning("hsts_short", f"HSTS max-age {hsts.max_age} s is shorter than 180 days "
                           f"({HSTS_MIN_AGE} s)", rule))  # fmt: skip
    if facts.secure_renegotiation is False:
        out.append(RatingWarning("no_secure_renegotiation", "secure renegotiation (RFC 5746) is not supported",
                           "guide 2009r; Qualys 2014 (no secure renegotiation)"))  # fmt: skip
    return out


# --- the grade -------------------------------------------------------------------------------------------------


def grade(facts: TlsFacts) -> Grade:
    protocols, key, cipher = protocol_score(facts), key_exchange_score(facts), cipher_strength_score(facts)
    # Guide 2009e "Combining the category scores": weights 30/30/40; a zero in any category makes the total zero.
    total = 0 if 0 in (protocols, key, cipher) else protocols * 30 // 100 + key * 30 // 100 + cipher * 40 // 100
    caps = tuple(Cap(rule_id, cap, reason, source) for rule_id, cap, source, test in CAP_RULES
                 if (reason := test(facts, key)) is not None)  # fmt: skip
    warned = tuple(warnings(facts))
    final = worse(letter(total), _worst(c.grade for c in caps))
    trust_set_aside = worse(letter(total), _worst(c.grade for c in caps if c.grade not in ("T", "M")))
    return Grade(protocols, key, cipher, total, letter(total), caps, warned, _plus_minus(final, caps, warned),
                 _plus_minus(trust_set_aside, tuple(c for c in caps if c.grade not in ("T", "M")), warned),
                 _not_tested(facts))


def _not_tested(facts: TlsFacts) -> tuple[str, ...]:
    unprobed = tuple(f"{p.protocol.value} ({'F' if p.protocol is Protocol.SSL2 else 'B'})" for p in facts.protocols
                     if p.offered is None)  # fmt: skip
    return unprobed + NOT_TESTED


def _worst(grades: Any) -> str:
    out = "A"
    for g in grades:
        out = worse(out, g)
    return out


def _plus_minus(final: str, caps: tuple[Cap, ...], warned: tuple[RatingWarning, ...]) -> str:
    """testssl.sh `run_rating`: a numeric A with no cap is A+ without warnings, A- with any."""
    if final != "A" or caps:
        return final
    return "A-" if warned else "A+"
