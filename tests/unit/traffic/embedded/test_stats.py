"""The router's per-backend stats: seconds folded into HDR counts and expired."""

from __future__ import annotations

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
