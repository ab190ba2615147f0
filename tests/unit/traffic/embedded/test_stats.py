"""The router's per-backend stats: seconds folded into HDR counts and expired."""

from __future__ import annotations

import numpy as np

from greenflag.hdr import Histogram
from greenflag.traffic.embedded.stats import StatsStore


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_stats_windows_fold_and_expire() -> None:
    clock = Clock()
    store = StatsStore(clock)
    for i in range(100):
        store.record("blue", 200, 1000 + i)  # 1.000..1.099 ms
    store.record("blue", 503, 5000)
    store.record("blue", 0, 7000)  # transport error
    clock.t += 1
    store.record("blue", 404, 2000)
    w = store.windows(["blue", "green"], 10)
    blue = w["blue"]
    assert blue.requests == 103
    assert blue.responses == {"2xx": 100, "4xx": 1, "5xx": 1}
    assert blue.transport_errors == 1 and blue.errors == 2
    assert sum(c for _, c in blue.latency_buckets) == 103
    assert blue.p50_ms is not None and 1.04 <= blue.p50_ms <= 1.06
    assert w["green"].requests == 0 and w["green"].p50_ms is None
    assert store.windows(["blue"], 1)["blue"].requests == 1  # only the newest second
    clock.t += 400  # beyond the 5 min kept
    store.record("blue", 200, 1)
    assert store.windows(["blue"], 300)["blue"].requests == 1


def test_synthetic_requests_are_counted_with_all_and_apart() -> None:
    from greenflag.traffic.embedded.stats import window_from_json, window_to_json

    clock = Clock()
    store = StatsStore(clock)
    for i in range(30):
        store.record("v2", 200, 1000 + i)  # users'
    for i in range(10):
        store.record("v2", 500 if i < 2 else 200, 5000, synthetic=True)  # analysis traffic, 2 failed
    store.record("v2", 0, 9000, synthetic=True)  # a transport error of the analysis traffic
    w = store.windows(["v2"], 10)["v2"]
    assert (w.requests, w.errors) == (41, 3)
    assert w.synthetic is not None and (w.synthetic.requests, w.synthetic.errors) == (11, 3)
    users = w.part("user")
    assert (users.requests, users.errors, users.responses) == (30, 0, {"2xx": 30})
    assert sum(c for _, c in users.latency_buckets) == 30 and users.p95_ms is not None and users.p95_ms < 1.1
    assert w.part("synthetic") is w.synthetic and w.part("both") is w
    again = window_from_json("v2", 10, window_to_json(w))  # the admin API's /stats round trip keeps the split
    assert again.synthetic is not None and again.synthetic.requests == 11 and again.part("user").requests == 30


def test_export_gives_complete_seconds_per_backend_with_their_synthetic_part() -> None:
    clock = Clock()
    store = StatsStore(clock)
    store.record("v1", 200, 1000)
    store.record("v2", 500, 2000, synthetic=True)
    clock.t += 1
    store.record("v2", 200, 3000)
    clock.t += 0.5  # the second 1001 is not over: not exported yet
    store.record("v2", 200, 4000)
    lines = store.export(["v1", "v2"], 0)
    assert [(second, name) for second, name, _ in lines] == [(1000, "v1"), (1000, "v2")]
    _, _, v2 = lines[1]
    assert v2["requests"] == 1 and v2["responses"]["5xx"] == 1 and v2["latency_buckets_ms"][0][1] == 1
    assert v2["synthetic"]["requests"] == 1 and v2["synthetic"]["responses"]["5xx"] == 1
    none = {"requests": 0, "responses": dict.fromkeys(("1xx", "2xx", "3xx", "4xx", "5xx"), 0), "transport_errors": 0}
    assert lines[0][2]["synthetic"] == {**none, "latency_buckets_ms": []}
    clock.t += 1
    assert [(s, n) for s, n, _ in store.export(["v1", "v2"], 1001)] == [(1001, "v2")]  # since: only newer seconds


def test_a_window_of_many_seconds_has_the_percentiles_and_buckets_of_all_its_requests() -> None:
    """Merging 300 folded seconds (thousands of distinct buckets) gives exactly what one histogram of every
    latency gives: the HDR buckets and p50/p95/p99 (upper bucket bounds, as the router reports them)."""
    clock = Clock()
    store = StatsStore(clock)
    rng = np.random.default_rng(7)
    every = Histogram()
    for second in range(300):
        clock.t += second > 0
        for latency in rng.lognormal(np.log(20_000), 1.2, size=40).astype(np.int64).tolist():
            store.record("blue", 200, latency)
            every.record(latency)
    window = store.windows(["blue"], 300)["blue"]
    assert window.requests == 12_000
    assert window.latency_buckets == tuple((u / 1000.0, c) for u, c in every.buckets())
    assert len(window.latency_buckets) > 1000
    expected = tuple(every.percentile(p) / 1000.0 for p in (50.0, 95.0, 99.0))
    # the window knows buckets, not exact values: its percentiles are the buckets' upper bounds
    assert (window.p50_ms, window.p95_ms, window.p99_ms) == tuple(
        next(u for u, _ in window.latency_buckets if u >= e) for e in expected
    )
