"""Where a check connects: curl's `--resolve HOST:PORT:ADDR` and `--ca-file PEM`, shared by every check.

`--resolve` lets a new environment (the green side of a blue-green release) be verified under its real name
before DNS points at it: the connection goes to ADDR while the TLS server name, the Host header and the
certificate check all use HOST.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult

__all__ = ["PinnedResolver", "Resolve", "TargetOptions", "parse_resolve"]


@dataclass(frozen=True)
class Resolve:
    host: str
    port: int
    address: str


def parse_resolve(value: str) -> Resolve:
    """'HOST:PORT:ADDR' (ADDR may be [IPv6]) → Resolve; ValueError says what is expected."""
    host, sep1, rest = value.partition(":")
    port_text, sep2, address = rest.partition(":")
    if not (sep1 and sep2 and host and address):
        raise ValueError("expected HOST:PORT:ADDRESS, e.g. shop.example.com:443:127.0.0.1")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"port {port_text!r} is not a number") from None
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    address = address.strip("[]")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{address!r} is not an IP address") from None
    return Resolve(host.lower(), port, address)


@dataclass(frozen=True)
class TargetOptions:
    """Connection options every check takes."""

    resolve: tuple[Resolve, ...] = ()
    ca_file: str | None = None
    timeout_s: float = 10.0
    extra: dict[str, Any] = field(default_factory=dict)

    def address_for(self, host: str, port: int) -> str:
        """The address to connect to for host:port: a --resolve entry, else the name itself."""
        for entry in self.resolve:
            if entry.host == host.lower() and entry.port == port:
                return entry.address
        return host

    def ssl_context(self, *, verify: bool = True) -> ssl.SSLContext:
        """A client context that trusts the system store, or only --ca-file when given."""
        if not verify:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()

    def resolver(self) -> PinnedResolver:
        return PinnedResolver(self.resolve)


class PinnedResolver(AbstractResolver):
    """An aiohttp resolver that answers --resolve entries itself and asks the system for every other name."""

    def __init__(self, entries: tuple[Resolve, ...]) -> None:
        self._entries = entries

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        for entry in self._entries:
            if entry.host == host.lower() and entry.port == port:
                fam = socket.AF_INET6 if ":" in entry.address else socket.AF_INET
                return [ResolveResult(hostname=host, host=entry.address, port=port, family=fam, proto=0,
                                      flags=socket.AI_NUMERICHOST)]  # fmt: skip
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM, family=family)
        return [ResolveResult(hostname=host, host=str(info[4][0]), port=int(info[4][1]), family=info[0], proto=info[2],
                              flags=socket.AI_NUMERICHOST) for info in infos]  # fmt: skip

    async def close(self) -> None:
        return None
