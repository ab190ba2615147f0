"""What a TLS scan found, as plain data: the input of the (pure) grade and the `evidence` of the JSON output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from greenflag.readiness.tls.suites import Protocol, Suite

__all__ = ["AcceptedSuite", "CertFacts", "HstsFacts", "ProtocolSupport", "TlsFacts", "parse_hsts"]

__pure__ = True


@dataclass(frozen=True)
class ProtocolSupport:
    protocol: Protocol
    offered: bool | None  # None: this scan could not test it (`note` says why); never read as "not offered"
    note: str = ""


@dataclass(frozen=True)
class AcceptedSuite:
    protocol: Protocol
    suite: Suite
    dh_bits: int | None = None  # DHE: the size of the server's prime
    group: str | None = None  # ECDHE curve or TLS 1.3 key-share group

    def to_json(self) -> dict[str, Any]:
        out = self.suite.to_json()
        if self.dh_bits:
            out["dh_bits"] = self.dh_bits
        if self.group:
            out["group"] = self.group
        return out


@dataclass(frozen=True)
class CertFacts:
    subject: str
    issuer: str
    names: tuple[str, ...]  # subjectAltName DNS names and IP addresses (the CN when there is no SAN)
    not_before: str  # ISO-8601, UTC
    not_after: str
    days_left: float  # negative once expired
    not_yet_valid: bool
    key_type: str  # "RSA", "EC", "Ed25519", "Ed448", "DSA"
    key_bits: int
    rsa_exponent: int | None
    signature_hash: str  # of the leaf: "sha256", "sha1", "md5", ...
    chain_signature_hashes: tuple[str, ...]  # of each intermediate (trust anchors' own signatures do not count)
    name_match: bool
    trusted: bool
    trust_error: str | None
    self_signed: bool
    chain_complete: bool  # the served chain alone reaches a trusted root
    served_chain: tuple[str, ...]  # subjects, as the server sent them
    must_staple: bool = False
    sct_count: int = 0
    ocsp_stapled: bool | None = None
    ocsp_status: str | None = None  # "good", "revoked", "unknown" from a stapled response

    @property
    def expired(self) -> bool:
        return self.days_left < 0

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["names"], out["served_chain"] = list(self.names), list(self.served_chain)
        out["chain_signature_hashes"] = list(self.chain_signature_hashes)
        out["days_left"], out["expired"] = round(self.days_left, 1), self.expired
        return out


@dataclass(frozen=True)
class HstsFacts:
    header: str | None  # the first Strict-Transport-Security header; None when absent
    max_age: int | None = None
    include_subdomains: bool = False
    preload: bool = False
    error: str | None = None  # why the header is not valid (RFC 6797 §6.1), or why no response was read

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_hsts(header: str | None) -> HstsFacts:
    """RFC 6797 §6.1: directives are case-insensitive, `max-age` is required, no directive may repeat."""
    if header is None:
        return HstsFacts(None)
    seen: set[str] = set()
    max_age: int | None = None
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if not name:
            continue
        if name in seen:
            return HstsFacts(header, error=f"directive {name!r} appears twice")
        seen.add(name)
        if name == "max-age":
            if not value.isdigit():
                return HstsFacts(header, error=f"max-age {value!r} is not a number of seconds")
            max_age = int(value)
    if max_age is None:
        return HstsFacts(header, error="max-age is missing")
    return HstsFacts(header, max_age, "includesubdomains" in seen, "preload" in seen)


@dataclass(frozen=True)
class TlsFacts:
    host: str
    port: int
    server_name: str | None
    protocols: tuple[ProtocolSupport, ...]
    suites: tuple[AcceptedSuite, ...]
    suites_complete: bool = True  # False when the enumeration ran out of time
    modern_choice: Suite | None = None  # what the server picks for a modern client's TLS 1.2 hello
    secure_renegotiation: bool | None = None  # None: not testable (no TLS <= 1.2)
    cert: CertFacts | None = None
    hsts: HstsFacts | None = None
    negotiated: str | None = None  # "TLSv1.3 TLS_AES_256_GCM_SHA384" as a default client gets it
    handshake_error: str | None = None  # why the full handshake (certificate, OCSP, HSTS) failed

    def offered(self, protocol: Protocol) -> bool:
        return any(p.protocol is protocol and p.offered for p in self.protocols)

    @property
    def offered_protocols(self) -> tuple[Protocol, ...]:
        return tuple(p.protocol for p in self.protocols if p.offered)

    def to_json(self) -> dict[str, Any]:  # fmt: skip
        return {
            "server_name": self.server_name,
            "negotiated": self.negotiated,
            **({"handshake_error": self.handshake_error} if self.handshake_error else {}),
            "protocols": {p.protocol.value: {"offered": p.offered, **({"note": p.note} if p.note else {})}
                          for p in self.protocols},
            "suites": {proto.value: [a.to_json() for a in self.suites if a.protocol is proto]
                       for proto in self.offered_protocols},
            "suites_complete": self.suites_complete,
            "modern_client_suite": self.modern_choice.name if self.modern_choice else None,
            "secure_renegotiation": self.secure_renegotiation,
            "certificate": self.cert.to_json() if self.cert else None,
            "hsts": self.hsts.to_json() if self.hsts else None,
        }
