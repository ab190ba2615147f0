"""Collect every TLS fact about one server (I/O): raw-hello probes, one full handshake, AIA intermediates."""

from __future__ import annotations

import asyncio
import datetime as dt

import aiohttp
from cryptography import x509

from greenflag.readiness.target import TargetOptions
from greenflag.readiness.tls import cert as certs
from greenflag.readiness.tls.facts import CertFacts, HstsFacts, TlsFacts, parse_hsts
from greenflag.readiness.tls.handshake import HandshakeResult, full_handshake, header
from greenflag.readiness.tls.probe import ProbeTarget, Unreachable, enumerate_suites, modern_choice, probe_protocols
from greenflag.readiness.tls.suites import Protocol

__all__ = ["Unreachable", "collect"]

_AIA_HOPS = 3
_AIA_MAX_BYTES = 64 * 1024


async def _fetch_issuers(last: x509.Certificate, timeout_s: float) -> list[x509.Certificate]:
    """Follow caIssuers URLs (http only, as clients do) up to three hops: the intermediates a server left out."""
    found: list[x509.Certificate] = []
    current = last
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for _ in range(_AIA_HOPS):
            urls = [u for u in certs.issuer_urls(current) if u.startswith("http://")]
            if not urls or current.issuer == current.subject:
                break
            try:
                async with session.get(urls[0]) as response:
                    body = await response.content.read(_AIA_MAX_BYTES)
            except (aiohttp.ClientError, TimeoutError, ValueError):
                break
            try:
                issuer = x509.load_der_x509_certificate(body) if not body.startswith(b"-----") else (
                    x509.load_pem_x509_certificate(body))  # fmt: skip
            except ValueError:
                break
            found.append(issuer)
            current = issuer
    return found


async def _cert_facts(hs: HandshakeResult, name: str, options: TargetOptions) -> CertFacts | None:
    if not hs.chain:
        return None
    store = certs.load_anchors(options.ca_file)
    now = dt.datetime.now(dt.UTC)
    fields = certs.analyse(hs.chain, name, store, now=now, ocsp_response=hs.ocsp_response)
    if not fields["trusted"] and not fields["self_signed"]:
        fetched = await _fetch_issuers(hs.chain[-1], options.timeout_s)
        if fetched:
            store = certs.load_anchors(options.ca_file)
            fields = certs.analyse(hs.chain, name, store, now=now, fetched=fetched, ocsp_response=hs.ocsp_response)
    return CertFacts(**fields)  # type: ignore[arg-type]


async def collect(host: str, port: int, *, sni: str | None, options: TargetOptions,
                  budget_s: float = 60.0) -> TlsFacts:  # fmt: skip
    """Every fact the grade needs. Raises Unreachable when no TCP connection can be made."""
    address = options.address_for(host, port)
    server_name = sni if sni is not None else ProbeTarget.sni_for(host)
    name = server_name or host
    target = ProbeTarget(address, port, server_name, timeout_s=min(options.timeout_s, 5.0))
    protocols, flights = await probe_protocols(target)
    offered = [p.protocol for p in protocols if p.offered]
    if not offered:
        return TlsFacts(host, port, server_name, protocols, ())
    legacy = [p for p in offered if p is not Protocol.TLS1_3]
    reneg_flight = flights[legacy[-1]] if legacy else None
    hs_task = asyncio.ensure_future(full_handshake(address, port, server_name, host_header=name,
                                                   timeout_s=options.timeout_s))  # fmt: skip
    modern_task = asyncio.ensure_future(modern_choice(target)) if Protocol.TLS1_2 in offered else None
    suites, complete = await enumerate_suites(target, offered, budget_s=budget_s)
    modern = await modern_task if modern_task else None
    hs: HandshakeResult | None = None
    error: str | None = None
    try:
        hs = await hs_task
    except Exception as exc:  # any failure of the full handshake is reported, the probes still grade
        error = f"{type(exc).__name__}: {exc}"
    cert = await _cert_facts(hs, name, options) if hs else None
    hsts = None
    if hs is not None:
        hsts = parse_hsts(header(hs.http_head, "strict-transport-security")) if hs.http_head else None
        hsts = hsts or HstsFacts(None, error=hs.http_error)
    return TlsFacts(
        host, port, server_name, protocols, suites, suites_complete=complete, modern_choice=modern,
        secure_renegotiation=reneg_flight.hello.secure_renegotiation if reneg_flight and reneg_flight.hello else None,
        cert=cert, hsts=hsts, negotiated=f"{hs.protocol} {hs.cipher}" if hs else None, handshake_error=error,
    )  # fmt: skip
