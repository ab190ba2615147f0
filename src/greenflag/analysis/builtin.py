"""One measurement of a built-in rule (`error_rate`, `latency`) from the canary's and the stable's windows (pure).

Shared by the live analysis (`run.py`) and the replay of recorded router stats (`replay.py`), so both judge with
the same statistics (`compare.py`): the canary's window since the analysis started, the stable's lookback, and
`traffic` choosing which requests count (`both`, `user` or `synthetic`: `analysis.traffic.judge`).
"""

from __future__ import annotations

from typing import Any

from greenflag.analysis.compare import Judgement, Sample, judge_error_rate, judge_latency
from greenflag.analysis.defaults import BUILTIN_ERROR_RATE, DEFAULT_ERROR_RATE_LIMIT, DEFAULT_P95_LIMIT_MS
from greenflag.analysis.verdicts import Measurement
from greenflag.spec import CompareSpec

__all__ = ["builtin_measurement", "describe"]
__pure__ = True


def builtin_measurement(
    name: str,
    at: float,
    canary: Any,
    stable: Any | None,
    cfg: CompareSpec,
    *,
    look: int,
    traffic: str = "both",
    stable_now: Any | None = None,
) -> Measurement:
    """The measurement of built-in rule `name` at `at`: `canary` and `stable` are windows (a BackendWindow, its
    mapping or a Sample; `stable` None: absolute limits); `look` counts the latency test's looks (1, 2, …).
    `stable_now`: the stable over the canary's own window (with analysis traffic: the paired, concurrent sample) —
    the latency test compares with it once it has `min_samples` timed requests, so a machine or a network slower
    now than over the lookback slows both versions alike instead of failing the canary."""
    c = Sample.from_value(canary, traffic)
    s = Sample.from_value(stable, traffic) if stable is not None else None
    judgement: Judgement
    if name == BUILTIN_ERROR_RATE:
        judgement = judge_error_rate(c, s, cfg, limit=DEFAULT_ERROR_RATE_LIMIT, metric=name)
    else:
        now = Sample.from_value(stable_now, traffic) if stable_now is not None else None
        if now is not None and sum(n for _, n in now.latency_buckets) >= cfg.min_samples:
            s = now
        judgement = judge_latency(c, s, cfg, look=look, p95_limit_ms=DEFAULT_P95_LIMIT_MS)
    counted = c.requests if name == BUILTIN_ERROR_RATE else sum(n for _, n in c.latency_buckets)
    synthetic = Sample.from_value(canary, "synthetic").requests if traffic != "user" else 0
    evidence = {"requests": counted, "errors": c.errors, "more_needed": judgement.more_needed or 0}
    message = judgement.message + _traffic_note(traffic, c.requests, synthetic)
    return Measurement(name, at, judgement.value, judgement.verdict, message, describe(judgement), evidence)


def _traffic_note(traffic: str, requests: int, synthetic: int) -> str:
    """What the canary's requests were, so that analysis traffic is never taken for users'."""
    if traffic == "user":
        return " [users' requests only]"
    if traffic == "synthetic":
        return " [analysis traffic only]"
    if synthetic:
        return f" [canary: {synthetic} analysis traffic + {requests - synthetic} users' requests]"
    return ""


def describe(j: Judgement) -> str:
    """The condition a built-in judgement applied, for the measurement's `condition`."""
    limit = "n/a" if j.limit is None else f"{j.limit:.4g}"
    if j.metric == BUILTIN_ERROR_RATE:
        return f"{j.mode} SPRT: canary error rate above {limit}"
    if j.mode == "relative":
        return f"Mann-Whitney: canary slower than stable + margin (stable p95 + margin = {limit} ms)"
    return f"{j.mode} SPRT: canary p95 above {limit} ms"
