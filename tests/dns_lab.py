"""Real authoritative DNS servers on loopback: one NSD (Debian `nsd`) process per server, each with its own zone
file, listening on 127.0.0.x and an ephemeral port."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query

from tests.support import start_process

__all__ = ["free_udp_port", "nsd_server", "zone_text"]


def free_udp_port(address: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
        udp.bind((address, 0))
        port = int(udp.getsockname()[1])
        tcp.bind((address, port))  # NSD needs the same port free for TCP
        return port


def zone_text(origin: str, *, serial: int = 2024010101, www: str = "127.0.0.10", caa: bool = True,
              ns: tuple[str, ...] = ("ns1", "ns2"), rname: str = "hostmaster", ttl: int = 300) -> str:
    lines = [f"$ORIGIN {origin}.", f"$TTL {ttl}",
             f"@ IN SOA ns1.{origin}. {rname}.{origin}. ( {serial} 3600 600 86400 300 )"]
    lines += [f"@ IN NS {n}.{origin}." for n in ns]
    lines += [f"{n} IN A 127.0.0.{i + 1}" for i, n in enumerate(ns)]
    lines += [f"www IN A {www}", "alias IN CNAME www"]
    if caa:
        lines += ['@ IN CAA 0 issue "letsencrypt.org"', '@ IN CAA 0 iodef "mailto:security@example.test"']
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def nsd_server(zones: dict[str, str], address: str = "127.0.0.1") -> Iterator[str]:
    """Start NSD serving `zones` (origin → zone text) on address:port; yield "address:port"."""
    nsd = shutil.which("nsd") or "/usr/sbin/nsd"
    with tempfile.TemporaryDirectory(prefix="greenflag-nsd-") as tmp:
        directory = Path(tmp)
        port = free_udp_port(address)
        zone_blocks = ""
        for origin, text in zones.items():
            (directory / f"{origin}.zone").write_text(text)
            zone_blocks += f"zone:\n  name: {origin}\n  zonefile: {origin}.zone\n"
        (directory / "nsd.conf").write_text(f"""server:
  ip-address: {address}@{port}
  port: {port}
  username: ""
  chroot: ""
  zonesdir: "{directory}"
  database: ""
  zonelistfile: "{directory}/zone.list"
  xfrdfile: "{directory}/xfrd.state"
  xfrdir: "{directory}"
  pidfile: "{directory}/nsd.pid"
  logfile: "{directory}/nsd.log"
  server-count: 1
  hide-version: yes
remote-control:
  control-enable: no
{zone_blocks}""")
        origin = next(iter(zones))

        def answers() -> bool:
            reply = dns.query.udp(dns.message.make_query(origin, "SOA"), address, port=port, timeout=0.2)
            return bool(reply.answer)

        with start_process([nsd, "-d", "-c", str(directory / "nsd.conf")], ready=answers, timeout=10):
            yield f"{address}:{port}"
