"""Raw ClientHello bytes and the parse of server flights, checked byte by byte (RFC 5246 / RFC 8446 layouts)."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from greenflag.readiness.tls.hello import EMPTY_RENEGOTIATION_SCSV, client_hello, parse_flight
from greenflag.readiness.tls.suites import Protocol

RANDOM = bytes(range(64))


def record(kind: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BHH", kind, version, len(body)) + body


def handshake(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def server_hello(version: int, suite: int, exts: bytes = b"", random: bytes = b"\x11" * 32) -> bytes:
    body = struct.pack("!H", version) + random + b"\x00" + struct.pack("!H", suite) + b"\x00"
    return handshake(2, body + struct.pack("!H", len(exts)) + exts)


def test_tls12_hello_offers_exactly_the_suites_and_the_renegotiation_scsv() -> None:
    data = client_hello(Protocol.TLS1_2, [0xC02F], server_name="shop.example", random=RANDOM)
    assert data[0] == 22 and struct.unpack("!H", data[1:3])[0] == 0x0301
    assert len(data) == 5 + struct.unpack("!H", data[3:5])[0]
    assert data[5] == 1 and struct.unpack("!H", data[9:11])[0] == 0x0303 and data[11:43] == RANDOM[:32]
    assert data[43] == 0  # no session id below TLS 1.3
    n = struct.unpack("!H", data[44:46])[0]
    assert [struct.unpack("!H", data[46 + i : 48 + i])[0] for i in range(0, n, 2)] == [0xC02F, EMPTY_RENEGOTIATION_SCSV]
    assert b"shop.example" in data


def test_tls13_hello_carries_supported_versions_and_an_x25519_share() -> None:
    data = client_hello(Protocol.TLS1_3, [0x1301], server_name=None, random=RANDOM)
    assert b"\x00\x2b\x00\x03\x02\x03\x04" in data  # supported_versions: TLS 1.3 only
    assert b"\x00\x1d\x00\x20" + RANDOM[32:] in data  # key_share X25519, 32 bytes
    assert b"\x00\xff" not in data[44:50]


def test_ssl3_hello_has_no_extensions() -> None:
    data = client_hello(Protocol.SSL3, [0x000A], server_name="x.example", random=RANDOM)
    assert struct.unpack("!H", data[1:3])[0] == 0x0300 and b"x.example" not in data
    assert data.endswith(b"\x01\x00")  # compression methods: null, then nothing


def test_accepting_tls12_flight_with_renegotiation_info_and_dh_size() -> None:
    p = b"\x80" + b"\x00" * 127  # a 1024-bit prime's bytes
    ske = handshake(12, struct.pack("!H", len(p)) + p + b"\x00\x01\x02" + b"\x00\x01\x05")
    flight = record(22, server_hello(0x0303, 0x009E, b"\xff\x01\x00\x01\x00") + handshake(11, b"\x00\x00\x00") + ske)
    partial = parse_flight(flight, kx="DH")
    assert not partial.complete  # ServerHelloDone still to come
    done = parse_flight(flight + record(22, handshake(14, b"")), kx="DH")
    assert done.complete and done.hello is not None and done.hello.suite == 0x009E
    assert done.hello.protocol is Protocol.TLS1_2 and done.hello.secure_renegotiation and done.dh_bits == 1024


def test_tls13_server_hello_is_enough() -> None:
    exts = b"\x00\x2b\x00\x02\x03\x04" + b"\x00\x33\x00\x24\x00\x1d\x00\x20" + b"\x00" * 32
    flight = parse_flight(record(22, server_hello(0x0303, 0x1302, exts)))
    assert flight.complete and flight.hello is not None and flight.hello.protocol is Protocol.TLS1_3
    assert flight.hello.group == "X25519" and not flight.hello.secure_renegotiation


def test_hello_retry_request_still_names_the_suite() -> None:
    hrr = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
    exts = b"\x00\x2b\x00\x02\x03\x04" + b"\x00\x33\x00\x02\x00\x17"
    flight = parse_flight(record(22, server_hello(0x0303, 0x1301, exts, random=hrr)))
    assert flight.complete and flight.hello is not None and flight.hello.retry and flight.hello.suite == 0x1301


def test_alert_is_a_refusal() -> None:
    flight = parse_flight(record(21, b"\x02\x28"))
    assert flight.complete and flight.hello is None and flight.alert == "handshake_failure"


def test_records_split_across_reads_wait_for_more() -> None:
    whole = record(22, server_hello(0x0303, 0xC02F))
    assert not parse_flight(whole[:7]).complete
    assert parse_flight(whole[:7]).hello is None


@given(st.binary(max_size=300))
def test_garbage_never_raises(data: bytes) -> None:
    parse_flight(data, kx="ECDH")
    parse_flight(record(22, data), kx="DH")
