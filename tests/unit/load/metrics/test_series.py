"""The run's metric series: latency is measured from the schedule but never shorter than the duration."""

from __future__ import annotations

from greenflag.load.metrics.series import Registry


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
