"""A run's metrics as deltas: what a registry recorded since the last look, in a form that travels between processes
(plain data and numpy arrays: pickle, Ray) and adds up exactly in another registry.

Two ways to take one:

- `take(registry, t0, t1)` moves everything the registry recorded out of it: every histogram (as its non-empty HDR
  buckets, with the exact count, sum, min and max), counter, rate, check and executor count. The registry starts
  over (hot paths keep recording into the same objects). A load worker takes one every second and ships it.
- `DiffTaker(registry).take(t0, t1)` reads what changed in a registry that keeps counting (one process's own
  registry, whose summary needs the totals): only what the time series needs. It listens to the registry's folds
  (`Registry.listen`), so between two takes it holds what the folds added, not a copy of the histograms.

`Merger` adds deltas from several sources (workers, scenarios) into one registry: histograms bucket by bucket in
the counts layout of `greenflag.hdr` (so percentiles of the merge are those of one histogram of every value),
counters and checks by addition, VUs as the sum of each source's latest value. A source's extra tags
(`scenario`) are added to every key it merges. `t0`/`t1` (wall clock) say which interval a delta belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from greenflag.hdr import Histogram, Taken
from greenflag.load.metrics.intervals import COUNTERS, NAME_TRENDS, Sparse
from greenflag.load.metrics.series import Registry, Scope, Series, Tags

__all__ = ["Delta", "DiffTaker", "HistPart", "Merger", "SeriesPart", "join_tags", "take"]
__pure__ = True

_MAIN = ("http_req_duration", "http_req_latency", "http_req_waiting", "http_req_receiving")


@dataclass(slots=True)
class HistPart:
    """One histogram's share of a delta: its non-empty buckets, and the exact count, sum, min and max of the values
    in them."""

    sparse: Sparse
    n: int
    total: int = 0
    low: int = 0
    high: int = 0

    @classmethod
    def take(cls, hist: Histogram) -> HistPart | None:
        got = hist.take()
        return None if got is None else cls.of([got])

    @classmethod
    def of(cls, parts: list[Taken]) -> HistPart:
        """One part adding up several (`Histogram.take` / `news` tuples; none: an empty part)."""
        if len(parts) == 1:
            index, counts, n, total, low, high = parts[0]
            return cls(Sparse.compact(index, counts), n, total, low, high)
        sparse = Sparse.add(Sparse.compact(p[0], p[1]) for p in parts)
        if not parts:
            return cls(sparse, 0)
        return cls(sparse, sum(p[2] for p in parts), sum(p[3] for p in parts), min(p[4] for p in parts),
                   max(p[5] for p in parts))  # fmt: skip

    def add_to(self, hist: Histogram) -> None:
        hist.add_sparse(self.sparse.index, self.sparse.count, total=self.total, low=self.low, high=self.high)


@dataclass(slots=True)
class SeriesPart:
    """One (name, method, status, tags) series' share of a delta."""

    name: str
    method: str
    status: int
    tags: Tags
    expected: bool
    reqs: int
    failed: int
    interrupted: int
    bytes_sent: int
    bytes_recv: int
    errors: dict[str, int]
    hists: dict[str, HistPart]


@dataclass
class Delta:
    t0: float  # wall clock of the previous take (the run's start for the first)
    t1: float  # wall clock of this take
    series: list[SeriesPart] = field(default_factory=list)
    trends: dict[tuple[str, Tags], HistPart] = field(default_factory=dict)
    counters: dict[tuple[str, Tags], float] = field(default_factory=dict)
    rates: dict[tuple[str, Tags], tuple[int, int]] = field(default_factory=dict)
    checks: dict[str, tuple[int, int]] = field(default_factory=dict)
    iterations: int = 0
    dropped_iterations: int = 0
    interrupted_iterations: int = 0
    iteration_duration: HistPart | None = None
    script_errors: dict[str, int] = field(default_factory=dict)
    vus: int = 0  # gauges: the source's values when the delta was taken, not differences
    vus_max: int = 0

    @property
    def requests(self) -> int:
        return sum(part.reqs for part in self.series)

    def totals(self) -> dict[str, int]:
        """The time series' counters (`COUNTERS`) of this delta."""
        out = dict.fromkeys(COUNTERS, 0)
        for part in self.series:
            out["http_reqs"] += part.reqs
            out["http_req_failed"] += part.failed
            out["data_sent"] += part.bytes_sent
            out["data_received"] += part.bytes_recv
        out["iterations"] = self.iterations
        out["dropped_iterations"] = self.dropped_iterations
        return out

    def error_classes(self) -> dict[str, int]:
        """Errors by class, as `Registry.errors_by_class` counts them (network classes, then http_4xx / http_5xx)."""
        out: dict[str, int] = {}
        for part in self.series:
            for error, count in part.errors.items():
                out[error] = out.get(error, 0) + count
            if part.status and not part.expected and part.reqs:
                key = f"http_{part.status // 100}xx"
                out[key] = out.get(key, 0) + part.reqs
        return out


def _hists(series: Series) -> Iterable[tuple[str, Histogram]]:
    yield from zip(_MAIN, (series.duration, series.latency, series.waiting, series.receiving), strict=True)
    yield from series.sparse.items()


def _series_hist(series: Series, metric: str) -> Histogram:
    if metric in series.sparse:
        return series.sparse[metric]
    return {
        "http_req_duration": series.duration,
        "http_req_latency": series.latency,
        "http_req_waiting": series.waiting,
        "http_req_receiving": series.receiving,
    }[metric]


def take(registry: Registry, t0: float, t1: float) -> Delta:
    """Move everything `registry` recorded since the last take into a Delta; the registry starts over (its gauges,
    VUs and most VUs, stay: they are states, not counts)."""
    registry.fold()
    delta = Delta(t0, t1, vus=registry.vus, vus_max=registry.vus_max)
    for series in registry.series.values():
        if not series.reqs:
            continue
        hists = {metric: part for metric, hist in _hists(series) if (part := HistPart.take(hist)) is not None}
        delta.series.append(
            SeriesPart(
                series.name, series.method, series.status, series.tags, series.expected, series.reqs,
                series.failed, series.interrupted, series.bytes_sent, series.bytes_recv, series.errors, hists,
            )
        )  # fmt: skip
        series.reqs = series.failed = series.interrupted = series.bytes_sent = series.bytes_recv = 0
        series.errors = {}
    for key, hist in registry.trends.items():
        part = HistPart.take(hist)
        if part is not None:
            delta.trends[key] = part
    delta.counters = {key: value for key, value in registry.counters.items() if value}
    registry.counters.clear()
    for key, entry in registry.rates.items():
        if entry[0] or entry[1]:
            delta.rates[key] = (entry[0], entry[1])
            entry[0] = entry[1] = 0
    for name, entry in registry.checks.items():
        if entry[0] or entry[1]:
            delta.checks[name] = (entry[0], entry[1])
            entry[0] = entry[1] = 0
    delta.iterations, delta.dropped_iterations = registry.iterations, registry.dropped_iterations
    delta.interrupted_iterations = registry.interrupted_iterations
    registry.iterations = registry.dropped_iterations = registry.interrupted_iterations = 0
    delta.iteration_duration = HistPart.take(registry.iteration_duration)
    delta.script_errors = dict(registry.script_errors)
    registry.script_errors.clear()
    return delta


class DiffTaker:
    """What changed in a registry that keeps its totals, as a Delta holding what the time series needs: per series
    requests, failures, bytes, errors and the `http_req_duration` / `http_req_latency` buckets; checks, executor
    counts and the `iteration_duration` buckets. The first take has everything since the registry's start."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._series: dict[Any, tuple[int, int, int, int, dict[str, int]]] = {}
        self._news: dict[tuple[Any, str], list[Taken]] | None = None  # None until the first take listens
        self._iteration: list[Taken] = []
        self._counts = (0, 0)
        self._checks: dict[str, tuple[int, int]] = {}

    def _listen(self) -> None:
        """Listen from now on; what the registry holds already is the first take's."""
        reg = self.registry
        reg.listen(self._note)
        self._news = {}
        for key, series in reg.series.items():
            for metric, hist in (("http_req_duration", series.duration), ("http_req_latency", series.latency)):
                if (whole := hist.copy().take()) is not None:
                    self._news[(key, metric)] = [whole]
        if (whole := reg.iteration_duration.copy().take()) is not None:
            self._iteration = [whole]

    def _note(self, series: Series | None, metric: str, news: Taken) -> None:
        if series is None:
            self._iteration.append(news)
        elif metric in NAME_TRENDS and self._news is not None:
            key = (series.name, series.method, series.status, series.tags)
            self._news.setdefault((key, metric), []).append(news)

    def take(self, t0: float, t1: float) -> Delta:
        reg = self.registry
        if self._news is None:
            self._listen()
        else:
            reg.fold()
        news, self._news = self._news or {}, {}
        delta = Delta(t0, t1, vus=reg.vus, vus_max=reg.vus_max)
        for key, series in reg.series.items():
            prev = self._series.get(key)
            gained = {metric: news.get((key, metric), []) for metric in NAME_TRENDS}
            if prev is not None and series.reqs == prev[0] and not any(gained.values()):
                continue
            p = prev or (0, 0, 0, 0, {})
            self._series[key] = (series.reqs, series.failed, series.bytes_sent, series.bytes_recv, dict(series.errors))
            errors = {k: v - p[4].get(k, 0) for k, v in series.errors.items() if v != p[4].get(k, 0)}
            hists = {metric: HistPart.of(parts) for metric, parts in gained.items()}
            delta.series.append(
                SeriesPart(
                    series.name, series.method, series.status, series.tags, series.expected, series.reqs - p[0],
                    series.failed - p[1], 0, series.bytes_sent - p[2], series.bytes_recv - p[3], errors, hists,
                )
            )  # fmt: skip
        delta.iterations = reg.iterations - self._counts[0]
        delta.dropped_iterations = reg.dropped_iterations - self._counts[1]
        self._counts = (reg.iterations, reg.dropped_iterations)
        for name, (passes, fails) in reg.checks.items():
            p0, f0 = self._checks.get(name, (0, 0))
            if passes != p0 or fails != f0:
                delta.checks[name] = (passes - p0, fails - f0)
            self._checks[name] = (passes, fails)
        if self._iteration:
            delta.iteration_duration, self._iteration = HistPart.of(self._iteration), []
        return delta


def join_tags(tags: Tags, extra: Tags) -> Tags:
    """`tags` with `extra` added (extra wins for the same key), sorted as the registry keeps them."""
    if not extra:
        return tags
    return tuple(sorted({**dict(tags), **dict(extra)}.items()))


@dataclass
class _Source:
    tags: Tags
    vus: int = 0
    vus_max: int = 0
    requests: int = 0
    iterations: int = 0


class Merger:
    """Adds deltas from named sources into one registry (see the module's docstring)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.sources: dict[str, _Source] = {}

    def add(self, source: str, delta: Delta, tags: Tags = ()) -> None:
        reg = self.registry
        for part in delta.series:
            series = reg.series_for(part.name, part.method, part.status, join_tags(part.tags, tags))
            series.reqs += part.reqs
            series.failed += part.failed
            series.interrupted += part.interrupted
            series.bytes_sent += part.bytes_sent
            series.bytes_recv += part.bytes_recv
            for error, count in part.errors.items():
                series.errors[error] = series.errors.get(error, 0) + count
            for metric, hist_part in part.hists.items():
                hist_part.add_to(_series_hist(series, metric))
        for (name, trend_tags), hist_part in delta.trends.items():
            key = (name, join_tags(trend_tags, tags))
            hist_part.add_to(reg.trends.setdefault(key, Histogram()))
        for (name, counter_tags), value in delta.counters.items():
            reg.counters[(name, join_tags(counter_tags, tags))] += value
        for (name, rate_tags), (passes, fails) in delta.rates.items():
            entry = reg.rates.setdefault((name, join_tags(rate_tags, tags)), [0, 0])
            entry[0] += passes
            entry[1] += fails
        for name, (passes, fails) in delta.checks.items():
            entry = reg.checks.setdefault(name, [0, 0])
            entry[0] += passes
            entry[1] += fails
        for error, count in delta.script_errors.items():
            reg.script_errors[error] = reg.script_errors.get(error, 0) + count
        scopes: list[Registry | Scope] = [reg] + ([reg.scopes.setdefault(tags, Scope())] if tags else [])
        for scope in scopes:
            scope.iterations += delta.iterations
            scope.dropped_iterations += delta.dropped_iterations
            scope.interrupted_iterations += delta.interrupted_iterations
            if delta.iteration_duration is not None:
                delta.iteration_duration.add_to(scope.iteration_duration)
        found = self.sources.setdefault(source, _Source(tags))
        found.vus, found.vus_max = delta.vus, max(found.vus_max, delta.vus_max)
        found.requests += delta.requests
        found.iterations += delta.iterations
        self._gauges()

    def end(self, source: str) -> None:
        """The source stopped: its VUs are gone (its most VUs still count)."""
        if source in self.sources:
            self.sources[source].vus = 0
            self._gauges()

    def _gauges(self) -> None:
        reg = self.registry
        reg.vus = sum(s.vus for s in self.sources.values())
        reg.vus_max = sum(s.vus_max for s in self.sources.values())
        for tags, scope in reg.scopes.items():
            members = [s for s in self.sources.values() if s.tags == tags]
            scope.vus, scope.vus_max = sum(s.vus for s in members), sum(s.vus_max for s in members)
