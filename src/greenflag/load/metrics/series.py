"""The run's metrics: HDR trends, counters and rates, broken down by request name, method, status and tags.

The hot path calls `Series.record_http(...)` with timings in seconds; everything is folded into HDR histograms
(microseconds) once a second. Readers that follow the run second by second (the live window, the time series,
thresholds) listen to what each fold adds (`Registry.listen`) instead of merging or copying the histograms every
second, so what they keep is the size of one second's values, or of one histogram they keep up to date.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from greenflag.hdr import Histogram, Taken
from greenflag.load.metrics.intervals import Sparse

__all__ = ["HTTP_TRENDS", "WATCHED", "Listener", "Registry", "Scope", "Series", "Window"]

# http_req_* trends, in recording order
HTTP_TRENDS = (
    "http_req_duration",
    "http_req_latency",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
)
# phases that are zero for most keep-alive requests: only non-zero values are recorded, zeros are added on read
_SPARSE = ("http_req_blocked", "http_req_connecting", "http_req_tls_handshaking", "http_req_sending")
# the trends every request records, whose news listeners get (`Registry.listen`)
WATCHED = ("http_req_duration", "http_req_latency", "http_req_waiting", "http_req_receiving")

Tags = tuple[tuple[str, str], ...]


class Series:
    """The HTTP metrics of one (name, method, status, tags) key."""

    __slots__ = (
        "bytes_recv",
        "bytes_sent",
        "dur",
        "duration",
        "errors",
        "expected",
        "failed",
        "interrupted",
        "lat",
        "latency",
        "method",
        "name",
        "receiving",
        "recv",
        "reqs",
        "sparse",
        "status",
        "tags",
        "wait",
        "waiting",
    )

    def __init__(self, name: str, method: str, status: int, tags: Tags, expected: bool) -> None:
        self.name = name
        self.method = method
        self.status = status
        self.tags = tags
        self.expected = expected
        self.reqs = 0
        self.failed = 0
        self.interrupted = 0  # requests cut off in flight by the end of the run (no response, no timings)
        self.bytes_sent = 0
        self.bytes_recv = 0
        self.errors: dict[str, int] = {}
        self.duration = Histogram()
        self.latency = Histogram()
        self.waiting = Histogram()
        self.receiving = Histogram()
        self.sparse = {name: Histogram() for name in _SPARSE}
        self.dur = self.duration.raw.append
        self.lat = self.latency.raw.append
        self.wait = self.waiting.raw.append
        self.recv = self.receiving.raw.append

    def record_http(
        self,
        t_sched: float,
        t_sent: float,
        t_first: float,
        t_done: float,
        blocked: float,
        connecting: float,
        tls: float,
        bytes_sent: int,
        bytes_recv: int,
        error: str | None,
    ) -> int:
        """Record one request; returns its duration in µs. Values go to the histograms' raw buffers; the
        registry folds them (`Registry.fold`) once a second."""
        self.reqs += 1
        if not self.expected:
            self.failed += 1
        if error is not None:
            self.errors[error] = self.errors.get(error, 0) + 1
        self.bytes_sent += bytes_sent
        self.bytes_recv += bytes_recv
        duration = int((t_done - t_sent) * 1e6)
        self.dur(duration)
        # from the schedule, but never from later than the send: the open-model dispatcher may start an
        # iteration up to 0.5 ms before it is due, and latency must not come out shorter than duration
        self.lat(int((t_done - min(t_sched, t_sent)) * 1e6))
        if t_first:
            self.wait(int((t_first - t_sent) * 1e6))
            self.recv(int((t_done - t_first) * 1e6))
        else:
            self.wait(duration)
            self.recv(0)
        if blocked:
            self.sparse["http_req_blocked"].record(int(blocked * 1e6))
            if connecting:
                self.sparse["http_req_connecting"].record(int(connecting * 1e6))
            if tls:
                self.sparse["http_req_tls_handshaking"].record(int(tls * 1e6))
        return duration

    def record_interrupted(self, bytes_sent: int) -> None:
        """A request that had left when the run ended and was cut off before its response: counted in http_reqs
        (the server saw it) as a failure of class `interrupted`, with no timings."""
        self.reqs += 1
        self.failed += 1
        self.interrupted += 1
        self.errors["interrupted"] = self.errors.get("interrupted", 0) + 1
        self.bytes_sent += bytes_sent

    def main(self) -> tuple[tuple[str, Histogram], ...]:
        """The WATCHED trends, with their names."""
        return (
            ("http_req_duration", self.duration),
            ("http_req_latency", self.latency),
            ("http_req_waiting", self.waiting),
            ("http_req_receiving", self.receiving),
        )

    def trend(self, metric: str) -> Histogram:
        if metric in _SPARSE:
            hist = self.sparse[metric].copy()
            hist.record_count(0, self.reqs - self.interrupted - hist.count)
            return hist
        return {
            "http_req_duration": self.duration,
            "http_req_latency": self.latency,
            "http_req_waiting": self.waiting,
            "http_req_receiving": self.receiving,
        }[metric]

    def tag_value(self, key: str) -> str | None:
        if key == "name":
            return self.name
        if key == "method":
            return self.method
        if key == "status":
            return str(self.status)
        if key == "expected_response":
            return "true" if self.expected else "false"
        return dict(self.tags).get(key)


@dataclass
class Window:
    """One tick (about a second) of traffic, for the live view: deltas of the cumulative metrics."""

    second: int
    reqs: int = 0
    failed: int = 0
    durations: Sparse | None = None  # the http_req_duration buckets that gained counts in this tick


@dataclass
class Scope:
    """The executor's own counts of one scenario (tags such as (("scenario", "checkout"),)) in a run that merges
    several: what `iterations{scenario:checkout}`, `vus{scenario:checkout}` … read."""

    iterations: int = 0
    dropped_iterations: int = 0
    interrupted_iterations: int = 0
    iteration_duration: Histogram = field(default_factory=Histogram)
    vus: int = 0
    vus_max: int = 0


# called on each fold with a series (None: the run's iteration_duration), the trend's name, and what it gained
Listener = Callable[[Series | None, str, Taken], None]


def is_expected(status: int) -> bool:
    """k6's default expected_response: 200–399."""
    return 200 <= status < 400


class Registry:
    """All metrics of a run (one event loop). Custom trends/counters/rates are keyed by metric name + tags."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.series: dict[tuple[str, str, int, Tags], Series] = {}
        self.trends: dict[tuple[str, Tags], Histogram] = {}
        self.counters: dict[tuple[str, Tags], float] = defaultdict(float)
        self.rates: dict[tuple[str, Tags], list[int]] = {}  # [passes, fails]
        self.gauges: dict[tuple[str, Tags], float] = {}
        self.checks: dict[str, list[int]] = {}
        self.iterations = 0
        self.iteration_duration = Histogram()
        self.dropped_iterations = 0
        self.interrupted_iterations = 0  # iterations still running when the graceful stop ran out
        self.script_errors: dict[str, int] = {}
        self.windows: deque[Window] = deque(maxlen=30)
        self.vus = 0
        self.vus_max = 0
        self.scopes: dict[Tags, Scope] = {}  # per scenario, in a run that merges several (see Scope)
        self._listeners: list[Listener] = []
        self._window: list[Sparse] | None = None  # http_req_duration's news since the last tick, once ticks began
        self._ticked = (0, 0)  # requests and failures at the last tick
        self._views: dict[tuple[str, Tags], Histogram] = {}

    # -- hot path ----------------------------------------------------------------------------------------
    def series_for(self, name: str, method: str, status: int, tags: Tags = ()) -> Series:
        key = (name, method, status, tags)
        found = self.series.get(key)
        if found is None:
            found = self.series[key] = Series(name, method, status, tags, is_expected(status))
            if self._listeners:
                for _, hist in found.main():
                    hist.watch()
        return found

    def fold(self) -> None:
        """Fold every histogram's raw values (bounded memory); the runner calls this once a second. Listeners get
        what each watched trend gained."""
        for series in self.series.values():
            for _, hist in series.main():
                hist.fold()
        self.iteration_duration.fold()
        if not self._listeners:
            return
        for series in self.series.values():
            for metric, hist in series.main():
                news = hist.news()
                if news is not None:
                    for listener in self._listeners:
                        listener(series, metric, news)
        news = self.iteration_duration.news()
        if news is not None:
            for listener in self._listeners:
                listener(None, "iteration_duration", news)

    def listen(self, listener: Listener) -> None:
        """From the next fold on, call `listener(series, metric, news)` with what each WATCHED trend of each series
        gained (series None: iteration_duration), in `Histogram.news()`'s form. It folds first: everything recorded
        until now is in the histograms, for the listener to read as its starting point. The arrays it gets are
        shared between listeners, to read, not to write to."""
        self.fold()
        if not self._listeners:
            for series in self.series.values():
                for _, hist in series.main():
                    hist.watch()
            self.iteration_duration.watch()
        self._listeners.append(listener)

    def tick(self, now: float) -> Window:
        """Close a live window: what happened since the previous tick (the first one: since the start)."""
        if self._window is None:
            self.listen(self._note_window)
            first = self.http_trend("http_req_duration").take()
            self._window = [] if first is None else [Sparse.compact(first[0], first[1])]
        else:
            self.fold()
        totals = self.http_totals()
        reqs0, failed0 = self._ticked
        window = Window(int(now - self.start), totals["reqs"] - reqs0, totals["failed"] - failed0)
        window.durations, self._window = Sparse.add(self._window), []
        self._ticked = (totals["reqs"], totals["failed"])
        self.windows.append(window)
        return window

    def _note_window(self, series: Series | None, metric: str, news: Taken) -> None:
        if metric == "http_req_duration" and self._window is not None:
            self._window.append(Sparse.compact(news[0], news[1]))

    # -- custom metrics ----------------------------------------------------------------------------------
    def add_trend(self, name: str, value_us: int, tags: Tags = ()) -> None:
        hist = self.trends.get((name, tags))
        if hist is None:
            hist = self.trends[(name, tags)] = Histogram()
        hist.record(value_us)

    def add_counter(self, name: str, value: float = 1.0, tags: Tags = ()) -> None:
        self.counters[(name, tags)] += value

    def add_rate(self, name: str, passed: bool, tags: Tags = ()) -> None:
        entry = self.rates.setdefault((name, tags), [0, 0])
        entry[0 if passed else 1] += 1

    def add_check(self, name: str, passed: bool) -> None:
        entry = self.checks.setdefault(name, [0, 0])
        entry[0 if passed else 1] += 1
        self.add_rate("checks", passed, (("check", name),))

    def note_vus(self, active: int) -> None:
        self.vus = active
        if active > self.vus_max:
            self.vus_max = active

    # -- reading -----------------------------------------------------------------------------------------
    def matching(self, tags: Tags) -> Iterable[Series]:
        for series in self.series.values():
            if all(series.tag_value(key) == value for key, value in tags):
                yield series

    def http_trend(self, metric: str, tags: Tags = ()) -> Histogram:
        """A new histogram: the trend `metric` of every series matching `tags`, merged."""
        merged = Histogram()
        for series in self.matching(tags):
            merged.merge(series.trend(metric))
        return merged

    def trend_view(self, metric: str, tags: Tags = ()) -> Histogram:
        """What `http_trend` gives, for a reader that comes back every second (thresholds): for a WATCHED trend, one
        histogram merged once and then kept up to date on each fold, rather than a new merge at each read. To read,
        not to write to; a registry whose histograms are taken (`delta.take`) has no views."""
        if metric not in WATCHED:
            return self.http_trend(metric, tags)
        if self._views:
            self.fold()
        else:
            self.listen(self._update_views)
        view = self._views.get((metric, tags))
        if view is None:
            view = self._views[(metric, tags)] = self.http_trend(metric, tags)
        return view

    def _update_views(self, series: Series | None, metric: str, news: Taken) -> None:
        if series is None:
            return
        index, counts, _, total, low, high = news
        for (name, tags), view in self._views.items():
            if name == metric and all(series.tag_value(key) == value for key, value in tags):
                view.add_sparse(index, counts, total=total, low=low, high=high)

    def http_totals(self, tags: Tags = ()) -> dict[str, int]:
        totals = {"reqs": 0, "failed": 0, "bytes_sent": 0, "bytes_recv": 0}
        for series in self.matching(tags):
            totals["reqs"] += series.reqs
            totals["failed"] += series.failed
            totals["bytes_sent"] += series.bytes_sent
            totals["bytes_recv"] += series.bytes_recv
        return totals

    def errors_by_class(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for series in self.series.values():
            for error, count in series.errors.items():
                out[error] += count
            if series.status and not series.expected:
                out[f"http_{series.status // 100}xx"] += series.reqs
        return dict(sorted(out.items()))

    def scoped(self, tags: Tags) -> list[Scope]:
        """The scopes whose tags include every one of `tags`."""
        return [scope for key, scope in self.scopes.items() if all(item in key for item in tags)]

    def recent(self, count: int) -> list[Window]:
        return list(self.windows)[-count:]

    def custom_trend(self, name: str, tags: Tags = ()) -> Histogram | None:
        """The custom trend `name` over the keys that carry `tags`: the histogram itself when one key matches (to
        read, not to write to), else a new merge; None when none does."""
        found = [hist for (metric, series_tags), hist in self.trends.items()
                 if metric == name and all(item in series_tags for item in tags)]  # fmt: skip
        if len(found) <= 1:
            return found[0] if found else None
        merged = Histogram()
        for hist in found:
            merged.merge(hist)
        return merged
