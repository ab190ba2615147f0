"""`PacedLoad`: a small real HTTP load at a fixed rate, for tests and benches that watch a router move traffic
between versions (aiohttp, off the hot path: it counts answers by version, it does not measure latency)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

__all__ = ["PacedLoad"]


class PacedLoad:
    """Open-model GETs at `rate` per second (as scheduled, not waiting for answers), for tests and benches that
    watch versions change behind a router: counts responses by "VERSION Nxx" (the `X-Greenflag-Version` header,
    "?" when absent, "transport" for failures to connect or read) and remembers the first 5xx of each version.
    Bounded: it stops when `stop` is set or after `max_requests`. With `record`, `log` keeps every request as
    (sent, answered, version, status) — monotonic seconds; status 0 for a transport failure."""

    def __init__(
        self,
        url: str,
        rate: float,
        *,
        headers: dict[str, str] | None = None,
        timeout_s: float = 5.0,
        record: bool = False,
    ) -> None:
        self.url = url
        self.rate = rate
        self.headers = headers
        self.timeout_s = timeout_s
        self.record = record
        self.log: list[tuple[float, float, str, int]] = []
        self.counts: Counter[str] = Counter()
        self.first_failure: dict[str, float] = {}  # version → wall-clock time of its first 5xx
        self.router_errors: list[tuple[float, int]] = []  # 5xx without a version header: the router's own
        self.stop = asyncio.Event()

    async def _one(self, session: Any) -> None:
        import aiohttp

        sent = time.monotonic()
        try:
            async with session.get(self.url, headers=self.headers) as response:
                await response.read()
                version = response.headers.get("X-Greenflag-Version", "?")
                if self.record:
                    self.log.append((sent, time.monotonic(), version, response.status))
                if response.status >= 500:
                    now = time.time()
                    self.first_failure.setdefault(version, now)
                    if version == "?":
                        self.router_errors.append((now, response.status))
                self.counts[f"{version} {response.status // 100}xx"] += 1
        except (aiohttp.ClientError, TimeoutError):
            self.counts["transport"] += 1
            if self.record:
                self.log.append((sent, time.monotonic(), "transport", 0))

    def classes(self) -> Counter[str]:
        """Responses by status class over all versions ("2xx", "5xx", …, and "transport")."""
        out: Counter[str] = Counter()
        for key, n in self.counts.items():
            out[key.rsplit(" ", 1)[-1]] += n
        return out

    async def run(self, max_requests: int = 200_000) -> None:
        import aiohttp

        tasks: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as session:
            start = time.monotonic()
            for i in range(max_requests):
                if self.stop.is_set():
                    break
                await asyncio.sleep(max(0.0, start + i / self.rate - time.monotonic()))
                task = asyncio.create_task(self._one(session))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)
