"""Where the embedded router may send traffic, and where its admin API may listen: pure decisions.

Backends: an address that is link-local (169.254.0.0/16, fe80::/10), a cloud instance-metadata service
(169.254.169.254, fd00:ec2::254, 100.100.100.200, metadata.google.internal …), unspecified, multicast or
broadcast is never a backend — also when a hostname resolves to it, or when it hides inside an IPv6 address
(::ffff:169.254.169.254, 64:ff9b::a9fe:a9fe). Every other address must be in the allow-list: loopback, the
addresses of the backends configured at start, and the networks in `router.allow_backends`. The caller resolves
hostnames (the router then connects to the addresses that were checked, so a later DNS answer cannot move it).

Admin API: listening beyond loopback needs a token of at least `MIN_EXPOSED_TOKEN` characters in a file that
neither group nor others can read or write.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "LOOPBACK",
    "METADATA_HOSTNAMES",
    "MIN_EXPOSED_TOKEN",
    "BackendPolicy",
    "admin_exposure_problem",
    "is_loopback_host",
    "never_a_backend",
    "parse_networks",
]

__pure__ = True

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK: tuple[Network, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
_PRIVATE: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_NAMED = {"loopback": LOOPBACK, "private": _PRIVATE}
# Instance-metadata services outside the link-local ranges (those are refused as a whole): AWS over IPv6 (IMDS
# and its DNS), Alibaba Cloud, Oracle Cloud.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("fd00:ec2::254", "fd00:ec2::23", "100.100.100.200", "192.0.0.192")
)
METADATA_HOSTNAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
     "metadata.tencentyun.com", "metadata.azure.internal"}
)  # fmt: skip
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NOT_UNICAST_V4 = ipaddress.ip_network("0.0.0.0/8"), ipaddress.ip_network("255.255.255.255/32")
# 32 characters is 128 bits as hex and more as base64: out of reach of guessing over a network. The token the
# router generates is 43 characters (256 bits); this floor refuses hand-picked passwords.
MIN_EXPOSED_TOKEN = 32


def _embedded_v4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    return ip.teredo[1] if ip.teredo is not None else None


def never_a_backend(address: str) -> str | None:
    """Why `address` (an IP literal) can never be a backend, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    for candidate in (ip, _embedded_v4(ip)):
        if candidate is None:
            continue
        if candidate in _METADATA_ADDRESSES:
            return f"{address} is a cloud instance-metadata address"
        if candidate.is_link_local:
            return f"{address} is link-local (where cloud instance-metadata services live)"
        if candidate.is_unspecified or candidate.is_multicast or any(candidate in n for n in _NOT_UNICAST_V4):
            return f"{address} is not a unicast address"
    return None


def _normal(address: str) -> Address:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return mapped if mapped is not None else ip


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """'10.0.0.0/8', '192.168.1.20', 'fd00::/8', 'private' (RFC 1918 + fc00::/7), 'loopback' → networks.
    Raises ValueError naming the item."""
    out: list[Network] = []
    for item in items:
        text = item.strip()
        if text.lower() in _NAMED:
            out += _NAMED[text.lower()]
            continue
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{item!r}: expected an address, a network (10.0.0.0/8), 'private', 'loopback'") from None
    return tuple(out)


@dataclass(frozen=True)
class BackendPolicy:
    """The allow-list for backend addresses (never-a-backend addresses are refused whatever it says)."""

    allowed: tuple[Network, ...] = LOOPBACK

    @classmethod
    def build(cls, allow: Iterable[str] = (), configured: Iterable[str] = ()) -> BackendPolicy:
        """Loopback + `allow` (networks, see parse_networks) + the `configured` backends' addresses."""
        hosts = tuple(ipaddress.ip_network(_normal(a)) for a in configured)
        return cls(LOOPBACK + parse_networks(allow) + hosts)

    @staticmethod
    def check_name(host: str) -> None:
        """Raise ValueError for a hostname that names a metadata service (checked before it is resolved)."""
        if host.lower().rstrip(".") in METADATA_HOSTNAMES:
            raise ValueError(f"{host} is a cloud instance-metadata hostname: never a backend")

    def check(self, host: str, addresses: Iterable[str]) -> None:
        """Raise ValueError saying why a backend at `host` (resolved to `addresses`) is refused."""
        self.check_name(host)
        found = list(addresses)
        if not found:
            raise ValueError(f"{host} resolves to no address")
        for address in found:
            reason = never_a_backend(address)
            if reason is not None:
                via = f" ({host} resolves to it)" if host != address else ""
                raise ValueError(f"{reason}: never a backend{via}")
            ip = _normal(address)
            if not any(ip in net for net in self.allowed if net.version == ip.version):
                raise ValueError(
                    f"{address} is outside the allowed backend addresses (loopback and the backends configured at "
                    "start); allow more with router.allow_backends / --allow-backend, e.g. 10.0.0.0/8 or private"
                )


def is_loopback_host(host: str) -> bool:
    """A listen host that is loopback only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return _normal(host).is_loopback
    except ValueError:
        return False  # a hostname: it could name any interface


def admin_exposure_problem(host: str, token: str, file_mode: int | None) -> str | None:
    """Why the admin API must not listen on `host` with this token (file_mode: its file's st_mode, None when the
    token does not come from a file), or None."""
    if is_loopback_host(host):
        return None
    if len(token) < MIN_EXPOSED_TOKEN:
        return (
            f"the admin token is {len(token)} characters; listening on {host} (beyond loopback) needs at least "
            f"{MIN_EXPOSED_TOKEN} (delete the file to have a random one generated)"
        )
    if file_mode is not None and file_mode & 0o077:
        return f"the admin token file is readable or writable by others (mode {file_mode & 0o777:o}): chmod 600 it"
    return None
