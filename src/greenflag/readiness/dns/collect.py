"""Ask DNS servers (I/O, dnspython): find the zone and its authoritative servers, then ask each one and each
resolver the same questions.

Discovery, as on the internet: a recursive resolver (the `--resolver` given, else the system's) finds the zone
that holds NAME (the closest enclosing SOA), its NS set, and each NS host's addresses; the parent zone's servers
are asked for the delegation (the parent's NS set). With `nameservers` given, discovery is skipped: those
addresses (with ports, so local test servers and not-yet-delegated zones can be checked) are the authoritative
set, and the zone is read from their SOA answers. Authoritative servers are asked without recursion (RD=0) and
must set AA; resolvers are asked with recursion, one query per type, so TTLs are what they have cached.
"""

from __future__ import annotations

import asyncio
import ipaddress

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdatatype
import dns.resolver

from greenflag.readiness.dns.facts import RECORD_TYPES, Answer, DnsFacts, ServerView, Soa

__all__ = ["collect", "parse_server"]


def parse_server(text: str, default_port: int = 53) -> tuple[str, int]:
    """'IP', 'IP:PORT', '[IPv6]:PORT' or a bare IPv6 address → (ip, port); ValueError says what is expected."""
    value = text.strip()
    host, port = value, default_port
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError("expected [IPv6]:PORT")
            port = int(rest[1:])
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
        if not port_text.isdigit():
            raise ValueError(f"port {port_text!r} is not a number")
        port = int(port_text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address") from None
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    return host, port


def _label(ip: str, port: int) -> str:
    return ip if port == 53 else (f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}")


async def _ask(qname: dns.name.Name, rdtype: str, ip: str, port: int, *, recurse: bool,
               timeout: float) -> tuple[dns.message.Message | None, str | None]:  # fmt: skip
    query = dns.message.make_query(qname, rdtype)
    if not recurse:
        query.flags &= ~dns.flags.RD
    try:
        response, _ = await dns.asyncquery.udp_with_fallback(query, ip, timeout=timeout, port=port)
    except (dns.exception.DNSException, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return response, None


def _answer(response: dns.message.Message | None, error: str | None, qname: dns.name.Name, rdtype: str) -> Answer:
    if response is None:
        return Answer((), error=error)
    kind = dns.rdatatype.from_text(rdtype)
    for rrset in response.answer:
        if rrset.name == qname and rrset.rdtype == kind:
            return Answer(tuple(sorted(r.to_text() for r in rrset)), rrset.ttl, dns.rcode.to_text(response.rcode()))
    return Answer((), None, dns.rcode.to_text(response.rcode()))


async def _view(ip: str, port: int, role: str, zone: dns.name.Name, qname: dns.name.Name, timeout: float,
                ns_name: str | None = None) -> ServerView:  # fmt: skip
    recurse = role == "resolver"
    label = _label(ip, port)
    questions = [(zone, "SOA"), (zone, "NS"), *((qname, t) for t in RECORD_TYPES)]
    replies = await asyncio.gather(*(_ask(n, t, ip, port, recurse=recurse, timeout=timeout) for n, t in questions))
    (soa_resp, soa_err), (ns_resp, ns_err) = replies[0], replies[1]
    answers = {t: _answer(resp, err, qname, t) for t, (resp, err) in zip(RECORD_TYPES, replies[2:], strict=True)}
    if soa_resp is None:
        return ServerView(label, role, ns_name, error=soa_err, answers=answers if recurse else {})
    soa = None
    for rrset in soa_resp.answer:
        if rrset.name == zone and rrset.rdtype == dns.rdatatype.SOA:
            r = next(iter(rrset))
            soa = Soa(int(r.serial), r.mname.to_text(), r.rname.to_text(), int(r.refresh), int(r.retry),
                      int(r.expire), int(r.minimum), rrset.ttl)  # fmt: skip
    ns = _answer(ns_resp, ns_err, zone, "NS").records
    aa = bool(soa_resp.flags & dns.flags.AA) and soa is not None
    return ServerView(label, role, ns_name, aa, dns.rcode.to_text(soa_resp.rcode()), None, soa, ns, answers)


async def _zone_from(qname: dns.name.Name, ip: str, port: int, timeout: float) -> dns.name.Name | None:
    """The zone an authoritative server holds for qname: the owner of the SOA in its answer or authority."""
    name = qname
    while True:
        response, _ = await _ask(name, "SOA", ip, port, recurse=False, timeout=timeout)
        if response is not None:
            for rrset in [*response.answer, *response.authority]:
                if rrset.rdtype == dns.rdatatype.SOA:
                    return rrset.name
        if name == dns.name.root:
            return None
        name = name.parent()


def _resolver(resolvers: list[tuple[str, int]], timeout: float) -> dns.asyncresolver.Resolver:
    resolver = dns.asyncresolver.Resolver(configure=not resolvers)
    if resolvers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in resolvers]
    resolver.lifetime = timeout
    return resolver


async def _discover(qname: dns.name.Name, resolver: dns.asyncresolver.Resolver, timeout: float
                    ) -> tuple[dns.name.Name, list[tuple[str, int, str]], tuple[str, ...]]:  # fmt: skip
    zone = await dns.asyncresolver.zone_for_name(qname, resolver=resolver)
    ns_names = sorted(r.target.to_text() for r in await resolver.resolve(zone, "NS"))
    servers: list[tuple[str, int, str]] = []
    for ns in ns_names:
        for rdtype in ("A", "AAAA"):
            try:
                servers += [(r.address, 53, ns) for r in await resolver.resolve(ns, rdtype)]
            except dns.exception.DNSException:
                continue
    delegation: tuple[str, ...] = ()
    if zone != dns.name.root:
        try:
            parent = await dns.asyncresolver.zone_for_name(zone.parent(), resolver=resolver)
            parent_ns = next(iter(await resolver.resolve(parent, "NS"))).target
            address = next(iter(await resolver.resolve(parent_ns, "A"))).address
            response, _ = await _ask(zone, "NS", address, 53, recurse=False, timeout=timeout)
            if response is not None:
                delegation = tuple(sorted(r.target.to_text() for rrset in [*response.authority, *response.answer]
                                          if rrset.rdtype == dns.rdatatype.NS and rrset.name == zone for r in rrset))
        except (dns.exception.DNSException, StopIteration):
            pass
    return zone, servers, delegation


async def _caa(qname: dns.name.Name, zone: dns.name.Name, auth: tuple[str, int] | None,
               resolver: tuple[str, int] | None, timeout: float) -> tuple[str | None, tuple[str, ...]]:  # fmt: skip
    """RFC 8659 §3: the CAA set of the closest name from qname upward. Inside the zone an authoritative server
    answers; above it the first --resolver does (without one the climb stops at the zone apex)."""
    name = qname
    while True:
        server, recurse = (auth, False) if auth and name.is_subdomain(zone) else (resolver, True)
        if server is None:
            return None, ()
        response, error = await _ask(name, "CAA", *server, recurse=recurse, timeout=timeout)
        records = _answer(response, error, name, "CAA").records if error is None else ()
        if records:
            return name.to_text(), records
        if name == dns.name.root:
            return None, ()
        name = name.parent()


async def collect(name: str, *, resolvers: list[str], nameservers: list[str], timeout: float = 5.0) -> DnsFacts:
    """Everything the evaluation needs. ValueError for a malformed server address or name."""
    qname = dns.name.from_text(name)
    resolver_addrs = [parse_server(r) for r in resolvers]
    given = [parse_server(n) for n in nameservers]
    delegation: tuple[str, ...] = ()
    if given:
        zones = await asyncio.gather(*(_zone_from(qname, ip, port, timeout) for ip, port in given))
        zone = next((z for z in zones if z is not None), qname)
        servers: list[tuple[str, int, str | None]] = [(ip, port, None) for ip, port in given]
        discovery = "given: the --nameserver addresses are the authoritative servers"
    else:
        zone, found, delegation = await _discover(qname, _resolver(resolver_addrs, timeout), timeout)
        servers = [(ip, port, ns) for ip, port, ns in found]
        discovery = "resolver: zone, NS set and addresses from " + (
            ", ".join(_label(*r) for r in resolver_addrs) if resolver_addrs else "the system resolver")
    auth_views = await asyncio.gather(*(_view(ip, port, "authoritative", zone, qname, timeout, ns)
                                        for ip, port, ns in servers))  # fmt: skip
    resolver_views = await asyncio.gather(*(_view(ip, port, "resolver", zone, qname, timeout)
                                            for ip, port in resolver_addrs))  # fmt: skip
    live = [(ip, port) for v, (ip, port, _) in zip(auth_views, servers, strict=True) if v.authoritative]
    owner, caa = await _caa(qname, zone, live[0] if live else None, resolver_addrs[0] if resolver_addrs else None,
                            timeout)  # fmt: skip
    return DnsFacts(qname.to_text(), zone.to_text(), discovery, tuple(auth_views), tuple(resolver_views), owner, caa,
                    delegation)  # fmt: skip
