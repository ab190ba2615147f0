"""Raw-hello probes over TCP: which protocols and which suites a server accepts (I/O; parsing is in `hello`).

One TCP connection per probe: send one ClientHello, read until the server's first flight says yes or no, close.
Suite enumeration sends one hello per suite and protocol, concurrently and under one deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from greenflag.readiness.tls.facts import AcceptedSuite, ProtocolSupport
from greenflag.readiness.tls.hello import Flight, client_hello, parse_flight
from greenflag.readiness.tls.suites import Protocol, Suite, suite_by_code, suites_for

__all__ = ["ProbeTarget", "Unreachable", "enumerate_suites", "modern_choice", "probe_protocols"]

_MAX_FLIGHT = 256 * 1024
PROBED = (Protocol.SSL3, Protocol.TLS1_0, Protocol.TLS1_1, Protocol.TLS1_2, Protocol.TLS1_3)
# A modern browser's TLS 1.2 preference: forward-secret AEAD first, then forward-secret CBC, then the rest.
_MODERN_ORDER = ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                 "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
                 "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
                 "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA", "DES-CBC3-SHA")  # fmt: skip


class Unreachable(Exception):
    """The server cannot be reached at all (refused, timed out, no route)."""


@dataclass(frozen=True)
class ProbeTarget:
    address: str
    port: int
    server_name: str | None  # SNI; None for an IP address
    timeout_s: float = 5.0

    @staticmethod
    def sni_for(name: str) -> str | None:
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            return name
        return None


async def hello(target: ProbeTarget, protocol: Protocol, suites: Sequence[int], *, kx: str = "") -> Flight:
    """Send one ClientHello and return the parsed answer. Raises Unreachable when no TCP connection is made."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(target.address, target.port), target.timeout_s)
    except (OSError, TimeoutError) as exc:
        raise Unreachable(f"{target.address}:{target.port}: {exc or type(exc).__name__}") from None
    try:
        writer.write(client_hello(protocol, suites, server_name=target.server_name, random=os.urandom(64)))
        data = b""
        deadline = time.monotonic() + target.timeout_s
        while len(data) < _MAX_FLIGHT:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                return Flight(complete=True, error="timed out")
            except OSError as exc:  # reset: a refusal
                return Flight(complete=True, error=f"connection reset ({exc.__class__.__name__})")
            if not chunk:
                return parse_flight(data, kx=kx) if data else Flight(complete=True, error="connection closed")
            data += chunk
            flight = parse_flight(data, kx=kx)
            if flight.complete:
                return flight
        return Flight(complete=True, error="flight too long")
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def probe_protocols(target: ProbeTarget) -> tuple[tuple[ProtocolSupport, ...], dict[Protocol, Flight]]:
    """One hello per protocol offering every suite of that protocol; the version in the ServerHello decides."""

    async def one(protocol: Protocol) -> Flight:
        return await hello(target, protocol, [s.code for s in suites_for(protocol)])

    flights = await asyncio.gather(*(one(p) for p in PROBED))
    by_protocol = dict(zip(PROBED, flights, strict=True))
    out = [ProtocolSupport(Protocol.SSL2, None, "SSL 2.0 hellos use another record format, which greenflag "
                           "does not send: SSL 2.0 is not tested")]  # fmt: skip
    for protocol, flight in by_protocol.items():
        accepted = flight.hello is not None and flight.hello.protocol is protocol
        out.append(ProtocolSupport(protocol, accepted))
    return tuple(out), by_protocol


async def enumerate_suites(
    target: ProbeTarget, protocols: Sequence[Protocol], *, budget_s: float = 60.0, concurrency: int = 16
) -> tuple[tuple[AcceptedSuite, ...], bool]:
    """Every suite of the table, one hello each, for each offered protocol; (accepted, finished in time)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(protocol: Protocol, suite: Suite) -> AcceptedSuite | None:
        async with gate:
            flight = await hello(target, protocol, [suite.code], kx=suite.kx)
        h = flight.hello
        if h is None or h.protocol is not protocol or h.suite != suite.code:
            return None
        return AcceptedSuite(protocol, suite, flight.dh_bits, flight.curve or h.group)

    jobs = [one(p, s) for p in protocols for s in suites_for(p)]
    tasks = [asyncio.ensure_future(job) for job in jobs]
    done, pending = await asyncio.wait(tasks, timeout=budget_s)
    for task in pending:
        task.cancel()
    accepted = [r for t in tasks if t in done and not t.cancelled() and t.exception() is None
                if (r := t.result()) is not None]  # fmt: skip
    errors = [t.exception() for t in done if not t.cancelled() and t.exception() is not None]
    if errors and not accepted:
        raise Unreachable(str(errors[0]))
    order = {p: i for i, p in enumerate(Protocol)}
    accepted.sort(key=lambda a: (order[a.protocol], -a.suite.bits, a.suite.code))
    return tuple(accepted), not pending and not errors


async def modern_choice(target: ProbeTarget) -> Suite | None:
    """The suite the server picks when a modern client offers its usual TLS 1.2 list (server preference decides)."""
    codes = [s.code for name in _MODERN_ORDER for s in suites_for(Protocol.TLS1_2) if s.name == name]
    flight = await hello(target, Protocol.TLS1_2, codes)
    if flight.hello is None or flight.hello.protocol is not Protocol.TLS1_2:
        return None
    return suite_by_code(flight.hello.suite)
