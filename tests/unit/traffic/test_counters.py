"""Windows from cumulative counters: deltas since the right sample, a slot that changed hands starts again, and
counters that went down start from zero."""

from __future__ import annotations

from greenflag.traffic.counters import CounterHistory, Counters, counters_from_stat


def c(ok: int, bad: int = 0, failed: int = 0) -> Counters:
    return Counters(r2xx=ok, r5xx=bad, failed=failed)


def test_a_window_is_the_delta_since_the_sample_at_its_start() -> None:
    history = CounterHistory()
    for t, n in ((0.0, 0), (10.0, 100), (20.0, 250)):
        history.add(t, {"v1": ("blue", c(n))})
    w = history.windows(30.0, {"v1": ("blue", c(400, 8, 2))}, 15.0)["v1"]  # base: the sample at 10 s
    assert (w.window_s, w.requests, w.errors, w.responses) == (20.0, 310, 10, {"2xx": 300, "5xx": 8})
    longest = history.windows(30.0, {"v1": ("blue", c(400))}, 300.0)["v1"]  # no older sample: from the oldest
    assert (longest.window_s, longest.requests) == (30.0, 400)


def test_no_sample_yet_is_an_empty_window() -> None:
    w = CounterHistory().windows(5.0, {"v1": ("blue", c(7))}, 10.0)["v1"]
    assert (w.window_s, w.requests, w.error_rate) == (0.0, 0, None)


def test_a_slot_pointed_at_another_version_does_not_lend_it_the_old_counts() -> None:
    history = CounterHistory()
    history.add(0.0, {"v2": ("green", c(0))})
    history.add(10.0, {"v2": ("green", c(500, 50))})  # v2 served 550 on green
    history.add(11.0, {"v3": ("green", c(500, 50))}, force=True)  # green now carries v3
    w = history.windows(20.0, {"v3": ("green", c(530, 50))}, 60.0)["v3"]
    assert (w.requests, w.errors, w.window_s) == (30, 0, 9.0)


def test_counters_that_went_down_start_from_zero() -> None:
    history = CounterHistory()
    history.add(0.0, {"v1": ("blue", c(900))})
    w = history.windows(5.0, {"v1": ("blue", c(12, 1))}, 10.0)["v1"]  # HAProxy restarted
    assert (w.requests, w.errors) == (13, 1)


def test_samples_are_bounded_in_time_and_rate() -> None:
    history = CounterHistory()
    for i in range(10_000):
        history.add(i * 0.05, {"v1": ("blue", c(i))})  # 20 a second for 500 s
    assert len(history) <= 300 / 0.1 + 2


def test_counters_from_a_show_stat_row() -> None:
    row = {"hrsp_1xx": "0", "hrsp_2xx": "10", "hrsp_3xx": "1", "hrsp_4xx": "2", "hrsp_5xx": "3", "eresp": "4"}
    assert counters_from_stat(row) == Counters(0, 10, 1, 2, 3, 4)
    assert counters_from_stat({"hrsp_2xx": ""}) == Counters()
