"""The run's metric series: latency is measured from the schedule but never shorter than the duration; what follows
the run second by second adds up to what the registry holds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from greenflag.hdr import Histogram
from greenflag.load.metrics.delta import DiffTaker, HistPart
from greenflag.load.metrics.intervals import Sparse
from greenflag.load.metrics.series import Registry, Tags


def test_latency_is_never_shorter_than_duration() -> None:
    """A request sent a little before its scheduled instant is measured from its send."""
    registry = Registry(start=0.0)
    series = registry.series_for("early", "GET", 200)
    series.record_http(10.0005, 10.0, 10.1, 10.2, 0, 0, 0, 10, 20, None)
    duration = registry.http_trend("http_req_duration").max
    assert registry.http_trend("http_req_latency").max == duration
    assert 199_990 <= duration <= 200_000


def test_an_interrupted_request_counts_as_a_failed_request_without_timings() -> None:
    registry = Registry(start=0.0)
    registry.series_for("/", "GET", 200).record_http(1.0, 1.0, 1.1, 1.2, 0.01, 0.01, 0, 10, 20, None)
    registry.series_for("/", "GET", 0).record_interrupted(10)
    assert registry.http_totals() == {"reqs": 2, "failed": 1, "bytes_sent": 20, "bytes_recv": 20}
    assert registry.errors_by_class() == {"interrupted": 1}
    for metric in ("http_req_duration", "http_req_blocked", "http_req_waiting"):
        assert registry.http_trend(metric).count == 1, metric  # the answered request only


def test_the_live_line_reads_the_last_five_seconds_only() -> None:
    """Each tick keeps the buckets that second added (a few, not the whole range); the live line's rate, p95 and
    error rate are those of the last five ticks, so a slow first minute no longer shows once it has passed."""
    import io

    from rich.console import Console

    from greenflag.load.metrics.progress import Progress

    registry = Registry(start=0.0)
    series = registry.series_for("/", "GET", 200)
    for _ in range(100):  # 100 slow requests (2 s) ...
        series.record_http(0.0, 0.0, 1.0, 2.0, 0, 0, 0, 10, 20, None)
    registry.tick(1.0)
    for second in range(2, 7):  # ... then five seconds of 10 fast ones (3 ms)
        for _ in range(10):
            series.record_http(0.0, 0.0, 0.001, 0.003, 0, 0, 0, 10, 20, None)
        window = registry.tick(float(second))
        assert window.reqs == 10 and window.durations is not None and window.durations.total == 10
        assert len(window.durations.index) == 1
    line = Progress(registry, 60.0, console=Console(file=io.StringIO())).line()
    assert "10 req/s" in line and "p95 3.0ms" in line and "err 0.00%" in line, line


_STEP = st.one_of(
    st.tuples(
        st.just("record"),
        st.sampled_from(["home", "api", "form"]),
        st.sampled_from([200, 503]),
        st.lists(st.integers(min_value=0, max_value=5_000_000), min_size=1, max_size=30),
    ),
    st.tuples(st.just("fold"), st.just(""), st.just(0), st.just([])),
    st.tuples(st.just("read"), st.sampled_from(["", "home", "api"]), st.just(0), st.just([])),
    st.tuples(st.just("iteration"), st.just(""), st.just(0), st.lists(st.integers(0, 10**7), max_size=5)),
)


class _Followers:
    """What follows a run second by second: the live windows, the time series' diffs, the thresholds' views."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.diff = DiffTaker(registry)
        self.windows: list[Sparse] = []
        self.parts: dict[tuple[str, str], list[HistPart]] = {}
        self.views: dict[tuple[str, Tags], Histogram] = {}
        self.clock = 0.0

    def read(self, name: str = "") -> None:
        self.clock += 1.0
        self.windows.append(self.registry.tick(self.clock).durations or Sparse.empty())
        delta = self.diff.take(self.clock - 1.0, self.clock)
        for part in delta.series:
            for metric, hist in part.hists.items():
                self.parts.setdefault((part.name, metric), []).append(hist)
        if delta.iteration_duration is not None:
            self.parts.setdefault(("", "iteration_duration"), []).append(delta.iteration_duration)
        tags: Tags = (("name", name),) if name else ()
        for metric in ("http_req_duration", "http_req_waiting"):
            self.views[(metric, tags)] = self.registry.trend_view(metric, tags)


def _same(got: list[HistPart], want: Histogram) -> None:
    got = [part for part in got if part.n]
    assert Sparse.add(part.sparse for part in got).to_json() == Sparse.of(want.counts()).to_json()
    assert sum(part.n for part in got) == want.count and sum(part.total for part in got) == round(
        want.mean * want.count
    )
    if got:
        assert (min(p.low for p in got), max(p.high for p in got)) == (want.min, want.max)


@given(st.lists(_STEP, max_size=40))
@settings(max_examples=60, deadline=None)
def test_what_the_followers_of_a_run_add_up_to_is_what_the_registry_holds(
    steps: list[tuple[str, str, int, list[int]]],
) -> None:
    """The live windows, the time series' diffs and the thresholds' views follow the registry's folds instead of
    copying its histograms, and start whenever they are first read, in any order. Whatever happens in between (new
    series, folds, reads, values in the histograms' sparse tails), at the end: the windows' buckets add up to the
    run's http_req_duration; the diffs' to each request name's duration and latency and to iteration_duration, with
    exact counts, sums, min and max; each view reads exactly as a new merge (`http_trend`)."""
    registry = Registry(start=0.0)
    follow = _Followers(registry)
    for kind, name, status, values in steps:
        if kind == "record":
            series = registry.series_for(name, "GET", status, (("page", name),))
            for value in values:
                series.record_http(0.0, 0.0, 0.0, value / 1e6, 0, 0, 0, 1, 1, None)
        elif kind == "iteration":
            registry.iteration_duration.record_many(values)
        elif kind == "fold":
            registry.fold()
        else:
            follow.read(name)
    follow.read()
    whole = registry.http_trend("http_req_duration")
    assert Sparse.add(follow.windows).to_json() == Sparse.of(whole.counts()).to_json()
    for name in ("home", "api", "form"):
        for metric in ("http_req_duration", "http_req_latency"):
            _same(follow.parts.get((name, metric), []), registry.http_trend(metric, (("name", name),)))
    _same(follow.parts.get(("", "iteration_duration"), []), registry.iteration_duration)
    for (metric, tags), view in follow.views.items():
        assert view is registry.trend_view(metric, tags)  # kept, not merged anew
        whole = registry.http_trend(metric, tags)
        assert np.array_equal(view.counts(), whole.counts())
        assert (view.count, view.min, view.max, view.mean) == (whole.count, whole.min, whole.max, whole.mean)
