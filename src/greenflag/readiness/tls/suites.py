"""Cipher suites and protocol versions as data: what a suite is made of and which weakness classes it falls in."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache

from greenflag.readiness.tls.suites_data import SUITE_ROWS

__all__ = ["Protocol", "Suite", "suite_by_code", "suites_for"]

__pure__ = True


class Protocol(enum.StrEnum):
    """Protocol versions, oldest first; the value is the name users see."""

    SSL2 = "SSLv2"
    SSL3 = "SSLv3"
    TLS1_0 = "TLSv1.0"
    TLS1_1 = "TLSv1.1"
    TLS1_2 = "TLSv1.2"
    TLS1_3 = "TLSv1.3"

    @property
    def wire(self) -> int:
        """The version number on the wire (0x0300 for SSL 3.0 ... 0x0304 for TLS 1.3; SSL 2.0 is 0x0002)."""
        return _WIRE[self]

    @property
    def rank(self) -> int:
        return list(Protocol).index(self)

    @classmethod
    def from_wire(cls, value: int) -> Protocol | None:
        for proto, wire in _WIRE.items():
            if wire == value:
                return proto
        return None


_WIRE = {Protocol.SSL2: 0x0002, Protocol.SSL3: 0x0300, Protocol.TLS1_0: 0x0301, Protocol.TLS1_1: 0x0302,
         Protocol.TLS1_2: 0x0303, Protocol.TLS1_3: 0x0304}  # fmt: skip
_OLDEST = {"SSLv3": Protocol.SSL3, "TLSv1": Protocol.TLS1_0, "TLSv1.2": Protocol.TLS1_2, "TLSv1.3": Protocol.TLS1_3}


@dataclass(frozen=True)
class Suite:
    code: int
    name: str
    oldest: Protocol  # the oldest protocol version that defines it
    kx: str  # "ECDH", "DH" (both ephemeral), "RSA", "RSA(512)" (export), "any" (TLS 1.3)
    auth: str  # "RSA", "ECDSA", "DSS", "None" (anonymous), "any" (TLS 1.3)
    enc: str  # "AESGCM", "AES", "CHACHA20/POLY1305", "3DES", "RC4", "None", ...
    bits: int  # symmetric strength in bits (3DES = 112)
    mac: str  # "AEAD", "SHA1", "SHA256", "MD5", ...

    @property
    def tls13(self) -> bool:
        return self.oldest is Protocol.TLS1_3

    @property
    def forward_secret(self) -> bool:
        """Ephemeral key exchange with an authenticated server (TLS 1.3 always is)."""
        return self.tls13 or (self.kx in ("ECDH", "DH") and not self.anonymous)

    @property
    def aead(self) -> bool:
        return self.mac == "AEAD"

    @property
    def anonymous(self) -> bool:
        return self.auth == "None"

    @property
    def export(self) -> bool:
        return "(" in self.kx  # "RSA(512)", "DH(512)", "RSA(1024)": export-grade key exchange

    @property
    def null(self) -> bool:
        return self.enc == "None"

    @property
    def rc4(self) -> bool:
        return self.enc == "RC4"

    @property
    def block_64bit(self) -> bool:
        """3DES, DES, IDEA, RC2: 64-bit blocks (SWEET32)."""
        return self.enc in ("3DES", "DES", "IDEA", "RC2")

    @property
    def cbc(self) -> bool:
        return not self.aead and not self.null and not self.rc4

    def to_json(self) -> dict[str, object]:
        return {"code": f"0x{self.code:04X}", "name": self.name, "bits": self.bits, "forward_secrecy":
                self.forward_secret, "aead": self.aead, "kx": self.kx, "auth": self.auth, "enc": self.enc}  # fmt: skip


@cache
def _table() -> dict[int, Suite]:
    return {code: Suite(code, name, _OLDEST[oldest], kx, auth, enc, bits, mac)
            for code, name, oldest, kx, auth, enc, bits, mac in SUITE_ROWS}  # fmt: skip


def suite_by_code(code: int) -> Suite | None:
    return _table().get(code)


def suites_for(protocol: Protocol) -> tuple[Suite, ...]:
    """Every suite a server could negotiate under `protocol`, in table order."""
    if protocol is Protocol.TLS1_3:
        return tuple(s for s in _table().values() if s.tls13)
    if protocol is Protocol.SSL2:
        return ()
    return tuple(
        s for s in _table().values() if not s.tls13 and (s.oldest is not Protocol.TLS1_2 or protocol is Protocol.TLS1_2)
    )
