"""Public fakes for greenflag's seams, for users' tests and ours (no sockets, no sleeping), and `PacedLoad`, a
small real HTTP load for tests and benches that watch a router move traffic between versions."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from typing import Any

from greenflag.analysis.providers.base import Observation
from greenflag.health.base import ProbeResult

__all__ = ["FakeClock", "FakePlatform", "FakeProbe", "FakeProvider", "FakeRouter", "PacedLoad"]


class FakeClock:
    """A Clock whose time moves only when told to (`advance`) or when something sleeps on it."""

    def __init__(self, start: float = 1000.0, wall: dt.datetime | None = None) -> None:
        self._t = start
        self._start = start
        self._wall = wall or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def monotonic(self) -> float:
        return self._t

    def now(self) -> dt.datetime:
        return self._wall + dt.timedelta(seconds=self._t - self._start)

    def advance(self, seconds: float) -> None:
        self._t += seconds

    async def sleep(self, seconds: float) -> None:
        self._t += max(0.0, seconds)


class FakeRouter:
    """A Router (with BackendManager and HeaderRouting) that remembers what it was told.

    `fail_apply` makes the next N `apply` calls raise ConnectionError, to test retries.
    """

    def __init__(self, weights: dict[str, int] | None = None) -> None:
        self.weights: dict[str, int] = dict(weights or {})
        self.backends: dict[str, str] = {}
        self.header_route: str | None = None
        self.applied: list[dict[str, int]] = []
        self.fail_apply = 0
        self.closed = False

    async def apply(self, weights: dict[str, int]) -> None:
        if self.fail_apply > 0:
            self.fail_apply -= 1
            raise ConnectionError("fake router: apply failed")
        self.weights = dict(weights)
        self.applied.append(dict(weights))

    async def observe(self) -> dict[str, int] | None:
        return dict(self.weights)

    async def reset(self, stable: str | None = None) -> None:
        if stable is not None:
            self.weights = {name: (100 if name == stable else 0) for name in {*self.weights, stable}}
        self.header_route = None

    async def aclose(self) -> None:
        self.closed = True

    async def set_backends(self, backends: dict[str, str]) -> None:
        self.backends = dict(backends)
        self.weights = {name: w for name, w in self.weights.items() if name in backends}

    async def set_header_route(self, backend: str | None) -> None:
        self.header_route = backend


class FakeProvider:
    """A MetricProvider that answers from queues you fill: `push(query, *values, backend=None)`.

    Each query pops the next value for (query, backend), falling back to (query, None); the last value repeats.
    A value may be a plain result, an `Observation`, an exception (→ an Error observation) or a callable
    `(backend, window_s) -> value`. Unknown queries are Error observations. `calls` records every query.
    """

    def __init__(self) -> None:
        self._queues: dict[tuple[str, str | None], list[Any]] = {}
        self.calls: list[tuple[str, str, float]] = []

    def push(self, query: str, *values: object, backend: str | None = None) -> None:
        self._queues.setdefault((query, backend), []).extend(values)

    async def query(self, query: str, *, backend: str, window_s: float) -> Observation:
        self.calls.append((query, backend, window_s))
        queue = self._queues.get((query, backend)) or self._queues.get((query, None))
        if not queue:
            return Observation(error=f"fake: no value for {query!r} ({backend})")
        value = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(value):
            value = value(backend, window_s)
        if isinstance(value, Observation):
            return value
        if isinstance(value, BaseException):
            return Observation(error=f"fake: {type(value).__name__}: {value}")
        return Observation(value=value)


class FakeProbe:
    """A Probe (greenflag.health) that passes, except for targets containing a string in `failing`.
    `checks` records every target probed. Use `lambda spec: probe` as a Controller's `probes` factory."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.checks: list[str] = []

    async def check(self, target: str) -> ProbeResult:
        self.checks.append(target)
        bad = next((f for f in self.failing if f in target), None)
        return ProbeResult(bad is None, 0.0, f"fake probe {target}: {'failing' if bad else 'ok'}")


class FakePlatform:
    """A Platform whose instances exist only in memory (no processes). `dead` versions report no instances;
    `fail_launch` makes launching a version raise (like a command that cannot start)."""

    def __init__(self, instances_per_version: int = 1) -> None:
        from greenflag.platform.base import Instance

        self._make = Instance
        self.count = instances_per_version
        self.running: dict[str, list[Any]] = {}
        self.dead: set[str] = set()
        self.fail_launch: set[str] = set()
        self.launched: list[str] = []
        self.stopped: list[str] = []

    async def launch(self, version: str) -> list[Any]:
        if version in self.fail_launch:
            raise RuntimeError(f"fake platform: cannot launch {version}")
        if version not in self.running:
            self.launched.append(version)
            self.running[version] = [
                self._make(version=version, id=f"{version}-{i}", url=f"http://fake.invalid/{version}/{i}")
                for i in range(self.count)
            ]
        return list(self.running[version])

    async def stop(self, version: str, *, grace_s: float) -> None:
        if self.running.pop(version, None) is not None:
            self.stopped.append(version)

    async def instances(self) -> list[Any]:
        return [i for v, items in self.running.items() if v not in self.dead for i in items]


class PacedLoad:
    """Open-model GETs at `rate` per second (as scheduled, not waiting for answers), for tests and benches that
    watch versions change behind a router: counts responses by "VERSION Nxx" (the `X-Greenflag-Version` header,
    "?" when absent, "transport" for failures to connect or read) and remembers the first 5xx of each version.
    Bounded: it stops when `stop` is set or after `max_requests`."""

    def __init__(self, url: str, rate: float, *, headers: dict[str, str] | None = None, timeout_s: float = 5.0) -> None:
        self.url = url
        self.rate = rate
        self.headers = headers
        self.timeout_s = timeout_s
        self.counts: Counter[str] = Counter()
        self.first_failure: dict[str, float] = {}  # version → wall-clock time of its first 5xx
        self.router_errors: list[tuple[float, int]] = []  # 5xx without a version header: the router's own
        self.stop = asyncio.Event()

    async def _one(self, session: Any) -> None:
        import aiohttp

        try:
            async with session.get(self.url, headers=self.headers) as response:
                await response.read()
                version = response.headers.get("X-Greenflag-Version", "?")
                if response.status >= 500:
                    now = time.time()
                    self.first_failure.setdefault(version, now)
                    if version == "?":
                        self.router_errors.append((now, response.status))
                self.counts[f"{version} {response.status // 100}xx"] += 1
        except (aiohttp.ClientError, TimeoutError):
            self.counts["transport"] += 1

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
