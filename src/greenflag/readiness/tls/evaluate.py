"""TLS facts and grade → findings and a status (pure): what is wrong, how bad, and what to change."""

from __future__ import annotations

from greenflag.readiness.base import Finding, Severity, Status
from greenflag.readiness.tls.facts import TlsFacts
from greenflag.readiness.tls.grade import GRADE_ORDER, Grade
from greenflag.readiness.tls.suites import Protocol

__all__ = ["evaluate"]

__pure__ = True

_CAP_SEVERITY = {"T": Severity.CRITICAL, "M": Severity.CRITICAL, "F": Severity.CRITICAL, "C": Severity.HIGH,
                 "B": Severity.MEDIUM}  # fmt: skip
_FIX = {
    "tls10_tls11": "set the protocols to TLS 1.2 and 1.3 only (nginx: ssl_protocols TLSv1.2 TLSv1.3;)",
    "sslv3": "turn SSL 3.0 off",
    "sslv3_best": "offer TLS 1.2 and 1.3",
    "no_tls12": "offer TLS 1.2 and 1.3",
    "weak_key": "use an RSA key of at least 2048 bits or an EC P-256 key, and DH groups of 2048 bits or more",
    "insecure_key": "use an RSA key of at least 2048 bits or an EC P-256 key, and DH groups of 2048 bits or more",
    "incomplete_chain": "serve the intermediate certificates with the leaf (nginx: ssl_certificate takes the "
                        "full chain, leaf first)",
    "name_mismatch": "use a certificate whose subjectAltName lists this host name",
    "expired": "renew the certificate",
    "untrusted": "use a certificate from a trusted CA (or pass the private CA with --ca-file)",
    "sha1_signature": "reissue the certificate (and its intermediates) with SHA-256 signatures",
    "no_forward_secrecy": "prefer ECDHE suites",
    "no_aead": "prefer AES-GCM or ChaCha20-Poly1305 suites",
    "sweet32": "drop 3DES and other 64-bit-block suites",
    "rc4": "drop RC4 suites",
    "rc4_tls11": "drop RC4 suites",
    "weak_cipher": "drop suites below 112 bits",
    "export_suites": "drop export suites",
}
_WARN_FIX = {
    "no_tls13": "offer TLS 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3;)",
    "hsts_missing": "send Strict-Transport-Security: max-age=31536000; includeSubDomains",
    "hsts_short": "raise max-age to at least 31536000 (one year)",
    "hsts_disabled": "raise max-age to at least 31536000 (one year)",
    "hsts_invalid": "send one valid Strict-Transport-Security header",
    "no_secure_renegotiation": "upgrade the TLS library: every current one supports RFC 5746",
}


def meets(grade: str, minimum: str) -> bool:
    return GRADE_ORDER.index(grade) <= GRADE_ORDER.index(minimum)


def evaluate(facts: TlsFacts, graded: Grade, *, min_grade: str = "A+", min_days: float = 21) -> tuple[Status,
             list[Finding]]:  # fmt: skip
    """Fail when the grade is below `min_grade` or the certificate expires within `min_days`."""
    findings: list[Finding] = []
    for cap in graded.caps:
        fix = _FIX.get(cap.id)
        findings.append(Finding(f"tls.cap.{cap.id}", _CAP_SEVERITY.get(cap.grade, Severity.MEDIUM),
                                f"grade capped at {cap.grade}: {cap.reason}" + (f"; fix: {fix}" if fix else ""),
                                {"cap": cap.grade, "rule": cap.rule}))  # fmt: skip
    for warning in graded.warnings:
        fix = _WARN_FIX.get(warning.id)
        findings.append(Finding(f"tls.warning.{warning.id}", Severity.LOW,
                                f"{warning.reason} (no A+ with a warning)" + (f"; fix: {fix}" if fix else ""),
                                {"rule": warning.rule}))  # fmt: skip
    failed = not meets(graded.grade, min_grade)
    if failed:
        findings.insert(0, Finding("tls.grade.below_minimum", Severity.HIGH,
                                   f"grade {graded.grade} is below the required {min_grade}",
                                   {"grade": graded.grade, "min_grade": min_grade}))  # fmt: skip
    cert = facts.cert
    if cert is not None and 0 <= cert.days_left < min_days:
        failed = True
        findings.append(Finding("tls.cert.expires_soon", Severity.HIGH, f"the certificate expires in "
                                f"{cert.days_left:.0f} days ({cert.not_after}), under {min_days:g}; renew it",
                                {"days_left": round(cert.days_left, 1)}))  # fmt: skip
    if cert is not None:
        if cert.must_staple and not cert.ocsp_stapled:
            findings.append(Finding("tls.ocsp.must_staple_missing", Severity.HIGH, "the certificate demands "
                                    "OCSP stapling (must-staple) but the server staples nothing; browsers refuse it"))
        elif not cert.ocsp_stapled:
            findings.append(Finding("tls.ocsp.not_stapled", Severity.INFO, "no OCSP response is stapled "
                                    "(nginx: ssl_stapling on; ssl_stapling_verify on;)"))  # fmt: skip
    hsts = facts.hsts
    if hsts is not None and hsts.max_age and not hsts.error and not (hsts.include_subdomains and hsts.preload
                                                                     and hsts.max_age >= 31536000):  # fmt: skip
        findings.append(Finding("tls.hsts.not_preloadable", Severity.INFO, "HSTS is not eligible for the browsers' "
                                "preload list (needs max-age >= 31536000, includeSubDomains and preload)"))
    for support in facts.protocols:
        if support.offered is None:
            findings.append(Finding(f"tls.protocol.{support.protocol.name.lower()}_not_tested", Severity.INFO,
                                    support.note or f"{support.protocol.value} was not tested"))  # fmt: skip
    if not facts.suites_complete:
        findings.append(Finding("tls.suites.incomplete", Severity.MEDIUM, "the cipher-suite enumeration ran out "
                                "of time; the grade may miss weak suites"))  # fmt: skip
    if facts.secure_renegotiation is None and facts.offered_protocols == (Protocol.TLS1_3,):
        findings.append(Finding("tls.renegotiation.not_applicable", Severity.INFO, "TLS 1.3 only: renegotiation "
                                "does not exist in TLS 1.3"))  # fmt: skip
    if failed:
        return Status.FAIL, findings
    if any(f.severity is not Severity.INFO for f in findings):
        return Status.WARN, findings
    return Status.PASS, findings
