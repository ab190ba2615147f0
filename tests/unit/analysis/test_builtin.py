"""A built-in measurement from windows (pure): which requests count (`traffic`), and the paired stable sample."""

from __future__ import annotations

from greenflag.analysis.builtin import builtin_measurement
from greenflag.analysis.verdicts import Verdict
from greenflag.spec import CompareSpec
from greenflag.traffic.base import BackendWindow

CFG = CompareSpec()


def window(name: str, requests: int, errors: int, ms: float, synthetic: BackendWindow | None = None) -> BackendWindow:
    return BackendWindow(name, 10.0, requests, {"2xx": requests - errors, "5xx": errors}, 0, ((ms, requests),),
                         synthetic=synthetic)  # fmt: skip


def test_a_machine_slower_now_slows_both_versions_alike() -> None:
    canary = window("v2", 200, 0, 900.0)  # everything is slow now...
    lookback = window("v1", 5000, 0, 2.0)  # ...the stable's 300 s were fast
    now = window("v1", 200, 0, 880.0)  # the stable's requests of the same seconds: as slow
    alone = builtin_measurement("latency", 0.0, canary, lookback, CFG, look=1)
    assert alone.verdict is Verdict.FAILED
    paired = builtin_measurement("latency", 0.0, canary, lookback, CFG, look=1, stable_now=now)
    assert paired.verdict is Verdict.SUCCESSFUL, paired.message
    few = window("v1", 5, 0, 880.0)  # too few concurrent requests: the lookback it is
    assert builtin_measurement("latency", 0.0, canary, lookback, CFG, look=1, stable_now=few).verdict is Verdict.FAILED


def test_traffic_chooses_the_requests_and_the_message_says_which() -> None:
    tagged = window("v2", 100, 0, 2.0)
    canary = window("v2", 130, 30, 2.0, synthetic=tagged)  # users' 30 requests all failed; analysis traffic clean
    stable = window("v1", 5000, 0, 2.0, synthetic=window("v1", 100, 0, 2.0))
    both = builtin_measurement("error_rate", 0.0, canary, stable, CFG, look=1)
    assert both.verdict is Verdict.FAILED and "[canary: 100 analysis traffic + 30 users' requests]" in both.message
    users = builtin_measurement("error_rate", 0.0, canary, stable, CFG, look=1, traffic="user")
    assert (
        users.verdict is Verdict.FAILED
        and users.evidence["requests"] == 30
        and "[users' requests only]" in users.message
    )
    synthetic = builtin_measurement("error_rate", 0.0, canary, stable, CFG, look=1, traffic="synthetic")
    assert synthetic.verdict is not Verdict.FAILED and synthetic.evidence["requests"] == 100
    assert "[analysis traffic only]" in synthetic.message
