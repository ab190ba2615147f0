"""What the controller observes of an analysis run: instance windows merged per version, the analysis runner on a
journaled window, and errors as measurements."""

from __future__ import annotations

import pytest

from greenflag.analysis.verdicts import Verdict
from greenflag.rollout.model import Observations
from greenflag.rollout.observe import AnalysisRunner, VersionStats, merge_windows
from greenflag.rollout.steps import decide, new_status
from greenflag.testing import FakeClock, FakeRouter
from greenflag.traffic.base import BackendWindow
from tests.unit.rollout.analysis_specs import UP, make_spec, walk


def window(name: str, requests: int, errors: int, latency_ms: float = 50.0) -> BackendWindow:
    responses = {"2xx": requests - errors, "5xx": errors} if requests else {}
    buckets = ((latency_ms, requests),) if requests else ()
    return BackendWindow(name, 10.0, requests, responses, 0, buckets, latency_ms, latency_ms, latency_ms)


def test_merge_windows_adds_instances_up() -> None:
    merged = merge_windows("v2", 10.0, [window("v2-0", 100, 1, 10.0), window("v2-1", 100, 3, 30.0)])
    assert (merged.backend, merged.requests, merged.errors) == ("v2", 200, 4)
    assert (merged.p50_ms, merged.p95_ms) == (10.0, 30.0)


class StatsRouter(FakeRouter):
    """A FakeRouter that reports stats: per backend, (requests, errors) per second since `t0` of the clock."""

    def __init__(self, clock: FakeClock, rates: dict[str, tuple[int, int]]) -> None:
        super().__init__()
        self.clock, self.rates, self.t0 = clock, rates, clock.monotonic()
        self.asked: list[float] = []

    async def stats(self, window_s: float) -> dict[str, BackendWindow]:
        self.asked.append(window_s)
        seconds = min(window_s, self.clock.monotonic() - self.t0)
        return {n: window(n, int(r * seconds), int(e * seconds)) for n, (r, e) in self.rates.items()}


async def test_runner_fails_a_faulty_canary_and_a_restarted_one_rereads_the_same_window() -> None:
    clock = FakeClock(start=500.0)
    router = StatsRouter(clock, {"v1-0": (90, 0), "v1-1": (90, 0), "v2": (10, 1)})  # canary: 10 %, 10 % errors
    spec = make_spec([{"set_weight": 10}, {"analysis": {"duration": "30s"}}])
    runner = AnalysisRunner(spec, router, clock, lambda: {"v1": 2, "v2": 1})
    status = new_status(spec, 1, "v2", "v1", clock.now().timestamp())
    status.stage = "step:0"
    status, _ = decide(spec, status, UP, clock.now().timestamp())
    assert status.analysis_run == "step:1"
    verdicts: list[Verdict] = []
    for _ in range(30):
        clock.advance(1.0)
        run, measured = await runner.measure(status)
        status, _ = decide(spec, status, Observations(UP.launched, measurements=measured, analysis_run=run),
                           clock.now().timestamp())  # fmt: skip
        verdicts += [m.verdict for m in measured if m.metric == "error_rate"]
        if status.aborted:
            break
    assert status.aborted and verdicts[-1] is Verdict.FAILED
    rollback = next(e for e in status.events if e.kind == "rollback")
    assert (rollback.trigger, rollback.value) == ("error_rate", 0.1)
    assert rollback.limit is not None and rollback.limit.startswith("relative SPRT: canary error rate above 0.01")
    assert "vs stable 0% (0/" in rollback.message, "judged against the stable (both v1 instances)"
    # a new controller (no memory) opens a session at the journaled start: same canary window
    elapsed = clock.now().timestamp() - status.analysis["step:1"]["started_at"]
    again = AnalysisRunner(spec, router, clock, lambda: {"v1": 2, "v2": 1})
    status.aborted, status.analysis_run = False, "step:1"
    router.asked.clear()
    await again.measure(status)
    assert elapsed in router.asked or pytest.approx(elapsed) in router.asked


async def test_runner_turns_a_provider_it_cannot_build_into_error_measurements() -> None:
    clock = FakeClock()
    spec = make_spec(defaults=False)
    runner = AnalysisRunner(spec, FakeRouter(), clock, lambda: {"v1": 1, "v2": 1})  # no stats: no router metrics
    status = walk(spec)
    run, measured = await runner.measure(status)
    assert run == "background" and {m.verdict for m in measured} == {Verdict.ERROR}
    assert "router" in measured[0].message
    assert (await runner.measure(status))[1] == (), "once per interval"


async def test_version_stats_sums_instances_and_knows_idle_versions() -> None:
    clock = FakeClock()
    router = StatsRouter(clock, {"v1-0": (10, 0), "v1-1": (10, 1)})
    clock.advance(2)
    stats = await VersionStats(router, lambda: {"v1": 2, "v2": 1}).stats(0.5)
    assert (stats["v1"].requests, stats["v1"].errors, stats["v2"].requests) == (20, 1, 0)
    assert router.asked == [1.0], "windows below a second ask for one second"
