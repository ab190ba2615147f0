"""AnalysisRun against fakes: scheduling, Argo limits end to end, built-in defaults, explanations."""

from __future__ import annotations

from typing import Any

import pytest

from greenflag.analysis.providers.router import RouterProvider
from greenflag.analysis.run import AnalysisRun, summary
from greenflag.analysis.verdicts import Measurement, Verdict
from greenflag.errors import ConfigError
from greenflag.spec import AnalysisSpec
from greenflag.testing import FakeClock, FakeProvider
from greenflag.traffic.base import BackendWindow


def analysis(**data: Any) -> AnalysisSpec:
    return AnalysisSpec.model_validate(data)


async def test_metric_with_count_succeeds_after_count_measurements() -> None:
    clock = FakeClock()
    fake = FakeProvider()
    fake.push("up", 1.0)
    spec = analysis(
        defaults=False,
        metrics=[
            {
                "name": "up",
                "provider": "http_json",
                "query": "up",
                "interval": "2s",
                "count": 3,
                "success_condition": "result == 1",
            }
        ],
    )
    session = AnalysisRun(spec, {"up": fake}, "v2", "v1", clock)
    seen: list[Measurement] = []
    verdict = await session.run(None, seen.append)
    assert verdict is Verdict.SUCCESSFUL
    assert [m.at for m in seen] == [1000.0, 1002.0, 1004.0]
    assert [c[1] for c in fake.calls] == ["v2"] * 3


async def test_failure_limit_and_explanation() -> None:
    clock = FakeClock()
    fake = FakeProvider()
    fake.push("rate", 0.001, 0.05, 0.002, 0.06, 0.07)
    spec = analysis(
        defaults=False,
        metrics=[
            {
                "name": "error_rate",
                "provider": "prometheus",
                "query": "rate",
                "address": "http://x",
                "failure_condition": "result > 0.01",
                "failure_limit": 1,
            }
        ],
    )
    session = AnalysisRun(spec, {"prometheus": fake}, "v2", None, clock)
    verdict = await session.run(60.0)
    assert verdict is Verdict.FAILED
    assert len(session.measurements) == 4  # the second failure (> failure_limit 1) decides
    reason = session.reason()
    assert reason is not None and "error_rate" in reason and "0.06" in reason and "0.01" in reason


async def test_consecutive_errors_end_in_error_and_initial_delay_is_honoured() -> None:
    clock = FakeClock()
    fake = FakeProvider()
    fake.push("q", ConnectionError("refused"))
    spec = analysis(
        defaults=False,
        metrics=[
            {
                "name": "m",
                "provider": "prometheus",
                "address": "http://x",
                "query": "q",
                "initial_delay": "5s",
                "consecutive_error_limit": 2,
            }
        ],
    )
    session = AnalysisRun(spec, {"m": fake}, "v2", None, clock)
    assert await session.tick() == []  # not yet due
    verdict = await session.run(60.0)
    assert verdict is Verdict.ERROR
    assert [m.at for m in session.measurements] == [1005.0, 1006.0, 1007.0]
    assert "refused" in session.measurements[0].message


async def test_inconclusive_and_duration_end() -> None:
    clock = FakeClock()
    fake = FakeProvider()
    fake.push("q", 5.0)
    spec = analysis(
        defaults=False,
        metrics=[
            {
                "name": "m",
                "provider": "prometheus",
                "address": "http://x",
                "query": "q",
                "success_condition": "result < 1",
                "failure_condition": "result > 10",
            }
        ],
    )
    assert await AnalysisRun(spec, {"m": fake}, "v2", None, clock).run(10.0) is Verdict.INCONCLUSIVE
    fake2 = FakeProvider()
    fake2.push("q", 0.5)
    session = AnalysisRun(spec, {"m": fake2}, "v2", None, FakeClock())
    assert await session.run(10.0) is Verdict.SUCCESSFUL  # still running at the end: no limit crossed
    assert session.verdict is Verdict.RUNNING and len(session.measurements) == 11


def test_bad_condition_names_the_key_and_column() -> None:
    spec = analysis(
        metrics=[
            {
                "name": "m",
                "provider": "prometheus",
                "address": "http://x",
                "query": "q",
                "success_condition": "result <",
            }
        ]
    )
    with pytest.raises(ConfigError, match=r"analysis.metrics\[0\].success_condition: .*column 9"):
        AnalysisRun(spec, {"m": FakeProvider()}, "v2", None, FakeClock())


class Stats:
    """An in-test RouterStats: cumulative counts per backend, advanced by the test."""

    def __init__(self) -> None:
        self.data: dict[str, tuple[int, int, float]] = {}  # backend -> (requests, errors, latency ms)

    def add(self, backend: str, requests: int, errors: int, latency_ms: float) -> None:
        r, e, _ = self.data.get(backend, (0, 0, 0.0))
        self.data[backend] = (r + requests, e + errors, latency_ms)

    async def stats(self, window_s: float) -> dict[str, BackendWindow]:
        out = {}
        for name, (r, e, ms) in self.data.items():
            out[name] = BackendWindow(name, window_s, r, {"2xx": r - e, "5xx": e}, 0, ((ms, r),), ms, ms, ms)
        return out


@pytest.mark.parametrize(
    ("errors_per_s", "latency_ms", "expected", "metric"),
    [
        (0, 100.0, Verdict.SUCCESSFUL, None),
        (1, 100.0, Verdict.FAILED, "error_rate"),
        (0, 700.0, Verdict.FAILED, "latency"),
    ],
)
async def test_builtin_defaults_compare_canary_with_stable(
    errors_per_s: int, latency_ms: float, expected: Verdict, metric: str | None
) -> None:
    clock = FakeClock()
    stats = Stats()
    session = AnalysisRun(analysis(), {"router": RouterProvider(stats)}, "v2", "v1", clock)
    verdict = Verdict.RUNNING
    for _ in range(30):
        stats.add("v1", 90, 0, 100.0)
        stats.add("v2", 10, errors_per_s, latency_ms)
        clock.advance(1.0)
        await session.tick()
        verdict = session.verdict
        if verdict.done:
            break
    assert session.final_verdict() is expected
    if metric is not None:
        assert session.metric_verdicts()[metric] is Verdict.FAILED
        assert metric in (session.reason() or "")
    windows = [m for m in session.measurements if m.metric == "error_rate"]
    assert windows and all(m.condition for m in windows)


async def test_gate_failure_fails_the_run_and_missing_router_is_noted() -> None:
    session = AnalysisRun(analysis(), {}, "v2", "v1", FakeClock())
    assert session.notes and "router" in session.notes[0]
    session.observe_gate("readiness", True)
    assert session.verdict is Verdict.RUNNING and session.final_verdict() is Verdict.SUCCESSFUL
    m = session.observe_gate("readiness", False, "HTTP 503")
    assert m.verdict is Verdict.FAILED and session.verdict is Verdict.FAILED
    assert session.reason() == "health.readiness: failed (HTTP 503)"
    data = summary(session)
    assert data["verdict"] == "Failed" and data["metrics"] == {"health.readiness": "Failed"}


async def test_router_provider_queries_and_errors() -> None:
    stats = Stats()
    stats.add("v1", 100, 2, 120.0)
    provider = RouterProvider(stats)
    assert (await provider.query("error_rate", backend="v1", window_s=10)).value == pytest.approx(0.02)
    assert (await provider.query("request_rate", backend="v1", window_s=10)).value == pytest.approx(10.0)
    assert (await provider.query("p95_ms", backend="v1", window_s=10)).value == 120.0
    assert (await provider.query("requests", backend="v1", window_s=10)).value == 100
    assert "no backend 'v9'" in str((await provider.query("error_rate", backend="v9", window_s=10)).error)
    assert "unknown query" in str((await provider.query("bogus", backend="v1", window_s=10)).error)
    stats.data["v3"] = (0, 0, 0.0)
    assert "no requests" in str((await provider.query("error_rate", backend="v3", window_s=10)).error)


async def test_a_run_that_ends_without_evidence_is_inconclusive_not_successful() -> None:
    """A canary with too little traffic: the built-in tests never decide; at the end of the run that is
    Inconclusive, and the reason says how much evidence there was."""
    clock = FakeClock()
    stats = Stats()
    session = AnalysisRun(analysis(), {"router": RouterProvider(stats)}, "v2", "v1", clock)
    for _ in range(10):
        stats.add("v1", 90, 0, 100.0)
        stats.add("v2", 1, 0, 100.0)  # 1 request/s: 10 in all, min_samples is 20
        clock.advance(1.0)
        await session.tick()
    assert session.verdict is Verdict.RUNNING
    assert session.final_verdict() is Verdict.INCONCLUSIVE
    reason = session.reason() or ""
    assert reason.startswith("not enough evidence: error_rate: canary has 10 requests; 10 more needed"), reason
    last = [m for m in session.measurements if m.metric == "error_rate"][-1]
    assert last.evidence == {"requests": 10, "errors": 0, "more_needed": 10}
    assert summary(session)["verdict"] == "Inconclusive"


class UntimedStats(Stats):
    """Counters without latency histograms, as HAProxy's `show stat` gives them."""

    async def stats(self, window_s: float) -> dict[str, BackendWindow]:
        out = {}
        for name, (r, e, _) in self.data.items():
            out[name] = BackendWindow(name, window_s, r, {"2xx": r - e, "5xx": e})
        return out


@pytest.mark.parametrize("latency", [True, False])
async def test_a_router_that_does_not_time_requests_is_judged_on_its_error_rate(latency: bool) -> None:
    """With `latency=False` (the router's stats carry no latency, `router.times_requests`) the built-in latency
    rule is not a metric of the run, and says so: a clean canary is promoted on its error rate. Left on, the rule
    never gets a timed request and the run ends Inconclusive."""
    clock = FakeClock()
    stats = UntimedStats()
    session = AnalysisRun(analysis(), {"router": RouterProvider(stats)}, "v2", "v1", clock, latency=latency)
    for _ in range(30):
        stats.add("v1", 90, 0, 0.0)
        stats.add("v2", 10, 0, 0.0)
        clock.advance(1.0)
        await session.tick()
    assert set(session.metric_verdicts()) == ({"error_rate", "latency"} if latency else {"error_rate"})
    assert session.final_verdict() is (Verdict.INCONCLUSIVE if latency else Verdict.SUCCESSFUL)
    assert any("latency rule skipped" in n for n in session.notes) is not latency
