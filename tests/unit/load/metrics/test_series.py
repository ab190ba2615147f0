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
