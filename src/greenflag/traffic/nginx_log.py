"""Per-backend stats for `router.kind: nginx` from nginx's own access log, written as JSON lines in the format
`greenflag router nginx-config` declares (`log_format greenflag_json escape=json`):

    {"t":1718000000.123,"a":"127.0.0.1:9001","s":200,"h":"0.001","r":0.002}

`t` when the request ended ($msec), `a` the upstream that answered ($upstream_addr: after retries, the last one),
`s` the status the client got, `h` the upstream's header time ("-" or empty: no response came, a transport error)
and `r` the request time ($request_time, milliseconds resolution). Each request lands in the 1 s buckets of the
backend its address belongs to at read time (`embedded/stats.BackendSeries`: HDR latency, 5 minutes). Requests
nginx answered itself (no upstream) are not a backend's.

Reading is incremental: from the end of the file when first opened (earlier lines are not this router's story),
then each call reads what was appended; a rotated or truncated file is read again from its start.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from greenflag.traffic.base import BackendWindow
from greenflag.traffic.embedded.stats import StatsStore

__all__ = ["AccessLog", "parse_line"]

MAX_READ = 16 * 1024 * 1024  # bytes per call: a burst is read over several calls, never all at once


def parse_line(line: bytes) -> tuple[float, str, int, bool, float] | None:
    """(time, upstream address, status, transport error, latency ms) from one log line; None if it is not one."""
    try:
        data = json.loads(line)
        at, status, took = float(data["t"]), int(data["s"]), float(data["r"])
        addresses = str(data.get("a", ""))
    except (ValueError, KeyError, TypeError):
        return None
    last = addresses.replace(" : ", ", ").split(", ")[-1].strip()
    if not last or last == "-" or ":" not in last:
        return None  # nginx answered itself, or no upstream was tried ("no live upstreams" names the upstream)
    header = str(data.get("h", "-")).replace(" : ", ", ").split(", ")[-1].strip()
    return at, last, status, header in ("", "-"), took * 1000.0


class AccessLog:
    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.store = StatsStore(clock)
        self._inode: int | None = None
        self._offset = 0
        self._partial = b""
        self._last_second = 0

    def read(self, owner: Callable[[str], str | None]) -> int:
        """Fold the lines appended since the last call into the series of `owner(address)` (a backend name, or
        None for an address no backend has). Returns the number of requests read."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return 0
        if self._inode is None:  # first look: start at the end
            self._inode, self._offset = stat.st_ino, stat.st_size
            return 0
        if stat.st_ino != self._inode or stat.st_size < self._offset:  # rotated or truncated
            self._inode, self._offset, self._partial = stat.st_ino, 0, b""
        if stat.st_size == self._offset:
            return 0
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            data = fh.read(MAX_READ)
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        count = 0
        for line in lines:
            parsed = parse_line(line)
            if parsed is None:
                continue
            at, address, status, transport, latency_ms = parsed
            name = owner(address)
            if name is None:
                continue
            second = max(int(at), self._last_second)  # lines from several workers: never a second back
            self._last_second = second
            self.store.record(name, 0 if transport else status, int(latency_ms * 1000), second=second)
            count += 1
        return count

    def windows(self, names: list[str], window_s: float) -> dict[str, BackendWindow]:
        return self.store.windows(names, window_s)
