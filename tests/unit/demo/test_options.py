"""The reference service's options (pure)."""

from __future__ import annotations

from greenflag.demo.options import AppOptions


def test_options_problems_name_the_option() -> None:
    assert AppOptions().problems() == []
    problems = AppOptions(
        version="a b", port=70000, error_rate=1.5, latency_ms=-1, sse_interval_ms=0, crash_after=-2
    ).problems()
    for option in ("--version", "--port", "--error-rate", "--latency-ms", "--sse-interval-ms", "--crash-after"):
        assert any(p.startswith(option) for p in problems), (option, problems)
    assert AppOptions(error_rate=float("nan")).problems()
