"""Durations and host:port parsing."""

from __future__ import annotations

import pytest

from greenflag.units import parse_duration, parse_host_port


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("1m30s", 90.0), ("2", 2.0), (1.5, 1.5)],
)
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "10x", "5 m", "-1", "s10", "1m30"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_parse_host_port() -> None:
    assert parse_host_port("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert parse_host_port(":9") == ("127.0.0.1", 9)
    assert parse_host_port("[::1]:80") == ("::1", 80)
    with pytest.raises(ValueError):
        parse_host_port("host:port")
