"""Raw ClientHello messages and the parse of what a server answers: enough TLS to probe, none to encrypt.

A probe sends one ClientHello (RFC 5246 §7.4.1.2; RFC 8446 §4.1.2 for TLS 1.3) that offers exactly the
protocol version and suites under test, and reads the server's first flight: a ServerHello names the version
and suite it accepted, an alert (or a lower version) says it refused. No key is ever derived, so any version
or suite can be tested whatever this machine's OpenSSL supports — the technique testssl.sh calls "sockets".
The TLS 1.3 key share is 32 random bytes: any 32 bytes are a valid X25519 public key (RFC 7748 §5).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from greenflag.readiness.tls.suites import Protocol

__all__ = ["EMPTY_RENEGOTIATION_SCSV", "Flight", "ServerHello", "client_hello", "parse_flight"]

__pure__ = True

EMPTY_RENEGOTIATION_SCSV = 0x00FF  # RFC 5746 §3.3: asks the server to say whether it renegotiates securely

# RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest.
_HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
_GROUPS = (0x001D, 0x0017, 0x0018, 0x0019, 0x001E)  # x25519, secp256r1, secp384r1, secp521r1, x448
_GROUP_NAMES = {0x001D: "X25519", 0x0017: "secp256r1", 0x0018: "secp384r1", 0x0019: "secp521r1", 0x001E: "X448",
                0x0100: "ffdhe2048", 0x0101: "ffdhe3072", 0x0102: "ffdhe4096"}  # fmt: skip
_GROUP_BITS = {"X25519": 253, "X448": 448, "secp256r1": 256, "secp384r1": 384, "secp521r1": 521,
               "ffdhe2048": 2048, "ffdhe3072": 3072, "ffdhe4096": 4096}  # fmt: skip
# RSA-PSS, ECDSA, EdDSA, PKCS#1 with SHA-2, then SHA-1 last so that servers with only SHA-1 still answer.
_SIGALGS = (0x0804, 0x0805, 0x0806, 0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0809, 0x080A, 0x080B,
            0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0402, 0x0203, 0x0201, 0x0202)  # fmt: skip
_ALERTS = {0: "close_notify", 10: "unexpected_message", 40: "handshake_failure", 47: "illegal_parameter",
           50: "decode_error", 70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
           86: "inappropriate_fallback", 109: "missing_extension", 112: "unrecognized_name"}  # fmt: skip


def group_bits(name: str) -> int | None:
    """Key-exchange group → its size in bits, as the key-exchange score counts it."""
    return _GROUP_BITS.get(name)


def _vec(data: bytes, length_bytes: int) -> bytes:
    return len(data).to_bytes(length_bytes, "big") + data


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!H", kind) + _vec(body, 2)


def client_hello(protocol: Protocol, suites: Sequence[int], *, server_name: str | None, random: bytes) -> bytes:
    """One TLS record holding a ClientHello for exactly `protocol` and `suites`.

    `random` is 64 bytes from the caller (the 32-byte client random, then the 32-byte TLS 1.3 key share) so that
    this module stays free of I/O.
    """
    if len(random) != 64:
        raise ValueError("random must be 64 bytes")
    tls13 = protocol is Protocol.TLS1_3
    offered = list(suites) if tls13 else [*suites, EMPTY_RENEGOTIATION_SCSV]
    body = struct.pack("!H", min(protocol.wire, 0x0303)) + random[:32]
    body += _vec(random[32:] if tls13 else b"", 1)  # RFC 8446 §4.1.2: legacy_session_id for middlebox compat
    body += _vec(b"".join(struct.pack("!H", s) for s in offered), 2) + b"\x01\x00"  # null compression only
    if protocol is not Protocol.SSL3:  # SSL 3.0 hellos carry no extensions
        exts = b""
        if server_name:  # RFC 6066 §3: host_name
            name = server_name.encode("idna")
            exts += _ext(0, _vec(b"\x00" + _vec(name, 2), 2))
        exts += _ext(10, _vec(b"".join(struct.pack("!H", g) for g in _GROUPS), 2))  # supported_groups
        exts += _ext(11, b"\x01\x00")  # ec_point_formats: uncompressed
        exts += _ext(13, _vec(b"".join(struct.pack("!H", a) for a in _SIGALGS), 2))  # signature_algorithms
        exts += _ext(23, b"")  # extended_master_secret
        if tls13:
            exts += _ext(43, b"\x02\x03\x04")  # supported_versions: TLS 1.3 only
            exts += _ext(45, b"\x01\x01")  # psk_key_exchange_modes: psk_dhe_ke
            exts += _ext(51, _vec(struct.pack("!HH", 0x001D, 32) + random[32:], 2))  # key_share: X25519
        body += _vec(exts, 2)
    handshake = b"\x01" + _vec(body, 3)
    record_version = 0x0300 if protocol is Protocol.SSL3 else 0x0301
    return struct.pack("!BHH", 22, record_version, len(handshake)) + handshake


@dataclass(frozen=True)
class ServerHello:
    version: int  # the negotiated version (from supported_versions in TLS 1.3)
    suite: int
    extensions: tuple[int, ...]
    group: str | None = None  # TLS 1.3 key_share group
    retry: bool = False  # a HelloRetryRequest

    @property
    def protocol(self) -> Protocol | None:
        return Protocol.from_wire(self.version)

    @property
    def secure_renegotiation(self) -> bool:
        return 0xFF01 in self.extensions  # RFC 5746 §3.6: renegotiation_info in the ServerHello


@dataclass(frozen=True)
class Flight:
    """What the server has sent so far, parsed."""

    complete: bool  # nothing more is needed (a ServerHello the probe can judge, an alert, or garbage)
    hello: ServerHello | None = None
    alert: str | None = None
    error: str | None = None  # the bytes are not TLS
    certificates: tuple[bytes, ...] = ()  # DER, TLS <= 1.2 only (TLS 1.3 encrypts them)
    dh_bits: int | None = None  # ServerKeyExchange of a DHE suite: size of the prime p
    curve: str | None = None  # ServerKeyExchange of an ECDHE suite: the named curve
    messages: tuple[int, ...] = field(default=())


def _records(data: bytes) -> tuple[bytes, str | None, bool]:
    """Concatenated handshake bytes, the first alert's name, and whether the data is not TLS."""
    handshake, pos = b"", 0
    while pos + 5 <= len(data):
        kind, _version, length = struct.unpack_from("!BHH", data, pos)
        if kind not in (20, 21, 22, 23) or length > 18432:
            return handshake, None, True
        fragment = data[pos + 5 : pos + 5 + length]
        if len(fragment) < length:
            break
        if kind == 21 and len(fragment) >= 2:
            return handshake, _ALERTS.get(fragment[1], f"alert {fragment[1]}"), False
        if kind == 22:
            handshake += fragment
        pos += 5 + length
    return handshake, None, False


def _parse_hello(body: bytes) -> ServerHello:
    version, random = struct.unpack_from("!H", body, 0)[0], body[2:34]
    sid_len = body[34]
    pos = 35 + sid_len
    suite = struct.unpack_from("!H", body, pos)[0]
    pos += 3  # suite + compression method
    exts: list[int] = []
    group = None
    if pos + 2 <= len(body):
        end = pos + 2 + struct.unpack_from("!H", body, pos)[0]
        pos += 2
        while pos + 4 <= end:
            kind, length = struct.unpack_from("!HH", body, pos)
            data = body[pos + 4 : pos + 4 + length]
            exts.append(kind)
            if kind == 43 and length >= 2:
                version = struct.unpack_from("!H", data)[0]
            elif kind == 51 and length >= 2:
                code = struct.unpack_from("!H", data)[0]
                group = _GROUP_NAMES.get(code, f"0x{code:04X}")
            pos += 4 + length
    return ServerHello(version, suite, tuple(exts), group, retry=random == _HRR_RANDOM)


def _parse_certificates(body: bytes) -> tuple[bytes, ...]:
    total = int.from_bytes(body[0:3], "big")
    certs, pos = [], 3
    while pos + 3 <= min(len(body), 3 + total):
        length = int.from_bytes(body[pos : pos + 3], "big")
        certs.append(body[pos + 3 : pos + 3 + length])
        pos += 3 + length
    return tuple(certs)


def _parse_key_exchange(body: bytes, kx: str) -> tuple[int | None, str | None]:
    if kx.startswith("ECDH") and len(body) >= 3 and body[0] == 3:  # named_curve (RFC 8422 §5.4)
        code = struct.unpack_from("!H", body, 1)[0]
        return None, _GROUP_NAMES.get(code, f"0x{code:04X}")
    if kx.startswith("DH") and len(body) >= 2:  # dh_p first (RFC 5246 §7.4.3)
        p_len = struct.unpack_from("!H", body)[0]
        return int.from_bytes(body[2 : 2 + p_len], "big").bit_length(), None
    return None, None


def parse_flight(data: bytes, *, kx: str = "") -> Flight:
    """Parse the server's answer so far; `kx` (the offered suite's key exchange) lets it read ServerKeyExchange."""
    if data[:1] and data[0] & 0x80:  # an SSL 2.0 record: not an answer to a TLS hello
        return Flight(complete=True, error="SSLv2-format reply")
    handshake, alert, garbage = _records(data)
    if garbage:
        return Flight(complete=True, error="not TLS")
    hello: ServerHello | None = None
    certs: tuple[bytes, ...] = ()
    dh_bits: int | None = None
    curve: str | None = None
    kinds: list[int] = []
    pos = 0
    while pos + 4 <= len(handshake):
        kind, length = handshake[pos], int.from_bytes(handshake[pos + 1 : pos + 4], "big")
        body = handshake[pos + 4 : pos + 4 + length]
        if len(body) < length:
            break
        kinds.append(kind)
        try:
            if kind == 2:
                hello = _parse_hello(body)
            elif kind == 11 and hello is not None and hello.version <= 0x0303:
                certs = _parse_certificates(body)
            elif kind == 12:
                dh_bits, curve = _parse_key_exchange(body, kx)
        except (struct.error, IndexError):
            return Flight(complete=True, error="malformed handshake message")
        pos += 4 + length
    if alert is not None and hello is None:
        return Flight(complete=True, alert=alert)
    done = hello is not None and (hello.version >= 0x0304 or hello.retry or 14 in kinds)
    return Flight(complete=done or alert is not None, hello=hello, alert=alert, certificates=certs,
                  dh_bits=dh_bits, curve=curve, messages=tuple(kinds))  # fmt: skip
