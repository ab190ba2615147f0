"""Public fakes for greenflag's seams, for users' tests and ours: no sockets, no processes, no sleeping.

Real traffic for tests lives beside the load engine (`greenflag.load.engine.paced.PacedLoad`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from greenflag.analysis.providers.base import Observation
from greenflag.health.base import ProbeResult

__all__ = ["FakeClock", "FakePlatform", "FakeProbe", "FakeProvider", "FakeRouter"]


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
        known = {*self.weights, *self.backends}
        self.weights = {**{name: 0 for name in known}, **weights}  # a backend not named gets 0
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
    """A Platform (with ExitReporter) whose instances exist only in memory (no processes). `dead` versions report no
    instances; `fail_launch` makes launching a version raise (like a command that cannot start); `exit_at_once`
    (version → (exit code, output)) makes its instances exit as soon as they are launched, and `crash(version, …)`
    ends running ones — both reported by `exits()`."""

    def __init__(self, instances_per_version: int = 1) -> None:
        from greenflag.platform.base import Instance, InstanceExit

        self._make = Instance
        self._exit = InstanceExit
        self.count = instances_per_version
        self.running: dict[str, list[Any]] = {}
        self.dead: set[str] = set()
        self.fail_launch: set[str] = set()
        self.exit_at_once: dict[str, tuple[int, str]] = {}
        self.launched: list[str] = []
        self.stopped: list[str] = []
        self._exits: list[Any] = []

    def crash(self, version: str, returncode: int = 1, output: str = "") -> None:
        for instance in self.running.pop(version, []):
            self._exits.append(self._exit(version, instance.id, returncode, output))

    def exits(self) -> list[Any]:
        exits, self._exits = self._exits, []
        return exits

    async def launch(self, version: str) -> list[Any]:
        from greenflag.spec import check_version

        check_version(version)
        if version in self.fail_launch:
            raise RuntimeError(f"fake platform: cannot launch {version}")
        if version in self.exit_at_once:
            self.launched.append(version)
            code, output = self.exit_at_once[version]
            self._exits += [self._exit(version, f"{version}-{i}", code, output) for i in range(self.count)]
            return []
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
