"""HAProxy's Runtime API (the `stats socket` at admin level) on a unix socket or HOST:PORT, and the parsers of what
it answers: `show servers state <backend>` (addresses, weights, admin states) and `show stat` (counters).

One connection per command, as HAProxy's non-interactive mode expects. Arguments are checked before they are sent:
the API splits a line at spaces and runs each `;`-separated part as a command, so no argument may hold a space,
`;`, `#`, a backslash or a control character.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HAProxyError", "RuntimeAPI", "ServerState", "parse_servers_state", "parse_stat"]

_UNSAFE = re.compile(r"[\s;#\\\x00-\x1f\x7f]")
# srv_admin_state bits (HAProxy's SRV_ADMF_*): forced, inherited and resolution maintenance; forced and inherited
# drain. 0x04 (CMAINT, `disabled` in haproxy.cfg) stays set after `state ready` and means nothing by itself then.
ADMIN_MAINT = 0x01 | 0x02 | 0x20
ADMIN_DRAIN = 0x08 | 0x10


class HAProxyError(ConnectionError):
    """HAProxy could not be reached, or did not do what it was asked; the message says which."""


@dataclass(frozen=True)
class ServerState:
    """One server of a backend as `show servers state` reports it."""

    name: str
    address: str  # HOST:PORT
    weight: int  # the user weight (what `set server … weight` wrote)
    op_state: int  # 0 stopped (down), 1 starting, 2 running, 3 stopping
    admin_state: int  # bit field; 0 = ready

    @property
    def mode(self) -> str:
        """`maint`, `drain` or `ready` (what `set server … state` sets)."""
        if self.admin_state & ADMIN_MAINT:
            return "maint"
        if self.admin_state & ADMIN_DRAIN:
            return "drain"
        return "ready"

    @property
    def effective_weight(self) -> int:
        """What the server takes by weight: its weight, 0 in maintenance or draining."""
        return self.weight if self.mode == "ready" else 0


def parse_servers_state(text: str, backend: str) -> dict[str, ServerState]:
    """`show servers state <backend>` → server name → state. Raises HAProxyError when HAProxy answered an error."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = next((line for line in lines if line.startswith("# ")), None)
    if header is None:
        raise HAProxyError(f"show servers state {backend}: {(lines or ['no answer'])[0].strip()}")
    fields = header[2:].split()
    out: dict[str, ServerState] = {}
    for line in lines:
        if line.startswith("#") or line.strip().isdigit():
            continue
        row = dict(zip(fields, line.split(), strict=False))
        if row.get("be_name") != backend:
            continue
        try:
            out[row["srv_name"]] = ServerState(
                name=row["srv_name"],
                address=f"{row['srv_addr']}:{row['srv_port']}",
                weight=int(row["srv_uweight"]),
                op_state=int(row["srv_op_state"]),
                admin_state=int(row["srv_admin_state"]),
            )
        except (KeyError, ValueError):
            raise HAProxyError(f"show servers state {backend}: cannot read {line.strip()!r}") from None
    return out


def parse_stat(text: str, proxy: str) -> dict[str, dict[str, str]]:
    """`show stat` (CSV) → server name → field → value, for the servers of `proxy` (not FRONTEND/BACKEND)."""
    body = text.lstrip()
    if not body.startswith("# "):
        raise HAProxyError(f"show stat: {(body.splitlines() or ['no answer'])[0].strip()}")
    rows = csv.DictReader(io.StringIO(body[2:]))
    return {
        row["svname"]: {k: v for k, v in row.items() if k}
        for row in rows
        if row.get("pxname") == proxy and row.get("svname") not in ("FRONTEND", "BACKEND", None)
    }


class RuntimeAPI:
    """Commands to one HAProxy through its stats socket: `await api.run("show", "info")`."""

    def __init__(self, address: str, *, timeout: float = 5.0, base_dir: str | Path | None = None) -> None:
        self.timeout = timeout
        self._path: Path | None = None
        self._host_port: tuple[str, int] | None = None
        host, sep, port = address.rpartition(":")
        if not address.startswith(("/", ".")) and sep and port.isdigit():
            self._host_port = (host.strip("[]"), int(port))
        else:
            path = Path(address)
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            self._path = path
        self.address = address

    async def run(self, *words: str) -> str:
        """Send one command (its words) and return HAProxy's answer. Raises HAProxyError."""
        for word in words:
            if not word or _UNSAFE.search(word):
                raise HAProxyError(
                    f"refusing to send {word!r} to HAProxy: spaces, ';', '#' and controls split commands"
                )
        line = " ".join(words)
        try:
            return await asyncio.wait_for(self._exchange(line), self.timeout)
        except TimeoutError:
            raise HAProxyError(
                f"HAProxy runtime API {self.address}: no answer to {line!r} in {self.timeout:g}s"
            ) from None
        except OSError as exc:
            raise HAProxyError(f"HAProxy runtime API {self.address}: {exc.strerror or exc}") from None

    async def _exchange(self, line: str) -> str:
        if self._path is not None:
            reader, writer = await asyncio.open_unix_connection(str(self._path))
        else:
            assert self._host_port is not None
            reader, writer = await asyncio.open_connection(*self._host_port)
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            data = await reader.read()  # HAProxy closes after one command in non-interactive mode
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return data.decode("utf-8", errors="replace")

    async def servers(self, backend: str) -> dict[str, ServerState]:
        return parse_servers_state(await self.run("show", "servers", "state", backend), backend)

    async def stat(self, proxy: str) -> dict[str, dict[str, str]]:
        return parse_stat(await self.run("show", "stat", proxy, "4", "-1"), proxy)

    async def map_entries(self, map_name: str) -> dict[str, str]:
        """`show map` → key → value (the first entry of a key, as lookups see it)."""
        text = await self.run("show", "map", map_name)
        out: dict[str, str] = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0].startswith("0x"):
                out.setdefault(parts[1], parts[2])
            elif line.strip() and not parts[0].startswith("0x"):
                raise HAProxyError(f"show map {map_name}: {line.strip()}")
        return out
