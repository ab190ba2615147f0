"""The checklist runner against the real journal (SQLite in a temporary directory) and an injected checklist:
once per rollout, journaled before it runs; a restarted controller reads a finished result and runs an interrupted
one again; a rollback cancels it; a checklist that hangs or raises is a failed gate; bad input is refused first."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from greenflag.errors import ConfigError
from greenflag.readiness.base import CheckResult, Finding, Severity
from greenflag.readiness.base import Status as CheckStatus
from greenflag.rollout.checkrunner import ChecklistRunner
from greenflag.rollout.model import HookOutcome, Status
from greenflag.rollout.steps import new_status
from greenflag.rollout.store import Store
from greenflag.spec import Spec


def make_spec(tmp_path: Path, **readiness: Any) -> Spec:
    section = {"required_before": "promote", "checks": [{"name": "gate", "exec": ["true"], "timeout": "2s"}],
               **readiness}  # fmt: skip
    return Spec.model_validate(
        {
            "service": "svc",
            "platform": {"command": "app {port}"},
            "strategy": {"canary": {"steps": [{"set_weight": 50}]}},
            "state_dir": str(tmp_path),
            "readiness": section,
        }
    )


class Checklist:
    """A checklist that counts its runs and, with `hold`, waits until released."""

    def __init__(self, results: list[CheckResult], hold: bool = False) -> None:
        self.results, self.runs = results, 0
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        if not hold:
            self.release.set()

    async def __call__(self, spec: Spec) -> list[CheckResult]:
        self.runs += 1
        self.started.set()
        await self.release.wait()
        return self.results


FAILING = [CheckResult("check", "gate", CheckStatus.FAIL, (Finding("check.failed", Severity.HIGH, "exit 1"),))]


def status_of(spec: Spec) -> Status:
    return new_status(spec, 7, "v2", "v1", 1.0)


async def finished(runner: ChecklistRunner, status: Status) -> None:
    async def wait() -> None:
        while (run := runner.observe(status)) is None or run.state.outcome is HookOutcome.STARTED:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), 5)


async def test_it_runs_once_and_journals_every_check(tmp_path: Path) -> None:
    spec, store = make_spec(tmp_path), Store(tmp_path / "state.db")
    checklist = Checklist(FAILING, hold=True)
    runner = ChecklistRunner(spec, store, checklist)
    status = status_of(spec)
    assert runner.observe(status) is None
    runner.start(status)
    await checklist.started.wait()
    assert runner.observe(status).state.outcome is HookOutcome.STARTED  # type: ignore[union-attr]
    assert [r.outcome for r in store.hook_runs(7)] == [HookOutcome.STARTED]  # journaled before it ran
    runner.start(status)  # asked again each tick: not run twice
    checklist.release.set()
    await finished(runner, status)
    run = runner.observe(status)
    assert run is not None and run.state.outcome is HookOutcome.FAILED
    assert run.state.detail == "0 of 1 checks passed; required, not passed: check gate (fail: check.failed)"
    assert [(c.check, c.target, c.findings) for c in run.checks] == [("check", "gate", ("check.failed",))]
    output = json.loads(store.hook_runs(7)[0].output)
    assert output["results"][0]["findings"][0]["id"] == "check.failed"  # the full result, as check all --json
    # a restarted controller (a new runner on the same journal) reads the result and never runs it again
    again = Checklist(FAILING)
    fresh = ChecklistRunner(spec, Store(tmp_path / "state.db"), again)
    fresh.start(status)
    assert fresh.observe(status) == run and again.runs == 0 and checklist.runs == 1


async def test_an_interrupted_checklist_runs_again_when_the_rollout_asks(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    status = status_of(spec)
    store = Store(tmp_path / "state.db")
    store.hook_started(7, "readiness", "readiness checklist")  # a controller journaled it, then died
    checklist = Checklist([CheckResult("check", "gate", CheckStatus.PASS)])
    runner = ChecklistRunner(spec, store, checklist)
    seen = runner.observe(status)
    assert seen is not None and seen.state.outcome is HookOutcome.STARTED and not seen.again
    runner.start(status)
    assert runner.observe(status).again  # type: ignore[union-attr]
    await finished(runner, status)
    run = runner.observe(status)
    assert run is not None and run.state.outcome is HookOutcome.OK and checklist.runs == 1


async def test_a_rollback_cancels_a_running_checklist(tmp_path: Path) -> None:
    spec, store = make_spec(tmp_path), Store(tmp_path / "state.db")
    checklist = Checklist(FAILING, hold=True)
    runner = ChecklistRunner(spec, store, checklist)
    status = status_of(spec)
    runner.start(status)
    await checklist.started.wait()
    await runner.stop(status, "the rollout of v2 is rolling back: aborted by request")
    run = runner.observe(status)
    assert run is not None and run.state.outcome is HookOutcome.CANCELLED
    assert run.state.detail == "stopped, because the rollout of v2 is rolling back: aborted by request"
    runner.start(status)
    assert checklist.runs == 1  # cancelled is final
    await runner.aclose()


async def test_a_checklist_that_hangs_or_raises_is_a_failed_gate(tmp_path: Path) -> None:
    spec, store = make_spec(tmp_path), Store(tmp_path / "state.db")
    hanging = ChecklistRunner(spec, store, Checklist([], hold=True))
    hanging.limit_s = 0.05  # (the real limit: the slowest check's timeout + 11 s)
    status = status_of(spec)
    hanging.start(status)
    await finished(hanging, status)
    assert hanging.observe(status).state.detail == "the checklist did not finish within 0.05s"  # type: ignore[union-attr]

    async def broken(spec: Spec) -> list[CheckResult]:
        raise RuntimeError("no route to the checks")

    other = new_status(spec, 8, "v3", "v1", 1.0)
    runner = ChecklistRunner(spec, store, broken)
    runner.start(other)
    await finished(runner, other)
    run = runner.observe(other)
    assert run is not None and run.state.outcome is HookOutcome.FAILED
    assert run.state.detail == "the checklist could not run: RuntimeError: no route to the checks"
    assert ChecklistRunner(spec, store).limit_s == 2.0 + 1.0 + 10.0


def test_bad_input_is_refused_before_any_rollout(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    with pytest.raises(ConfigError, match=r"readiness\.required_before: promote, but readiness lists no check"):
        ChecklistRunner(make_spec(tmp_path, checks=[]), store)
    with pytest.raises(ConfigError, match=r"readiness.resolve\[0\]"):
        ChecklistRunner(make_spec(tmp_path, resolve=["not-an-entry"]), store)
    # without required_before nothing is checked here (`greenflag check all` reports its own errors)
    ChecklistRunner(make_spec(tmp_path, required_before=None, checks=[]), store)


# -- through the controller: a controller that stops mid-checklist, and one that stops after it finished ----------
CANARY = {"canary": {"steps": [{"set_weight": 50}, {"set_weight": 100}]}}


def controller(tmp_path: Path, checklist: Checklist, platform: Any = None, strategy: Any = None) -> Any:
    from greenflag.rollout.controller import Controller
    from greenflag.testing import FakeClock, FakePlatform, FakeProbe, FakeRouter

    spec = Spec.model_validate(
        {
            "service": "svc",
            "platform": {"command": "app --port {port}"},
            "analysis": {"defaults": False},
            "strategy": strategy or CANARY,
            "readiness": {"required_before": "promote", "checks": [{"name": "gate", "exec": ["true"]}]},
            "state_dir": str(tmp_path),
        }
    )
    probe = FakeProbe()
    store = Store(tmp_path / "state.db")
    return Controller(spec, router=FakeRouter(), platform=platform or FakePlatform(), store=store, clock=FakeClock(),
                      probes=lambda _: probe, checklist=checklist)  # fmt: skip


async def tick_until(ctl: Any, condition: Any, limit: int = 200) -> Status:
    for _ in range(limit):
        status = await ctl.tick()
        if condition(status):
            return status  # type: ignore[no-any-return]
        await asyncio.sleep(0)  # let the checklist task run (the fake clock never yields)
        ctl.clock.advance(0.2)  # one tick of the controller's clock
    raise AssertionError(f"not reached in {limit} ticks: {status.stage} {[e.message for e in status.events]}")


PASS = [CheckResult("check", "gate", CheckStatus.PASS)]


async def test_a_restarted_controller_runs_an_interrupted_checklist_again_and_never_a_finished_one(
    tmp_path: Path,
) -> None:
    from greenflag.testing import FakePlatform

    platform = FakePlatform()
    held = Checklist(PASS, hold=True)
    first = controller(tmp_path, held, platform)
    first.start("v1")
    await tick_until(first, lambda s: s.done)  # the initial deployment runs no checklist
    assert held.runs == 0
    first.start("v2")
    status = await tick_until(first, lambda s: s.stage == "readiness" and held.started.is_set())
    assert status.weights == {"v1": 50, "v2": 50}
    await first.aclose()  # the controller stops while the checklist runs: journaled started, never finished

    quick = Checklist(PASS, hold=True)
    second = controller(tmp_path, quick, platform)
    second.attach()
    await tick_until(second, lambda s: quick.started.is_set() and "again" in s.events[-1].message)
    quick.release.set()
    for _ in range(100):  # the result is journaled; this controller stops before it acts on it
        if second.checklist.observe(second.status).state.outcome is HookOutcome.OK:
            break
        await asyncio.sleep(0)
    await second.aclose()

    never = Checklist(PASS)
    third = controller(tmp_path, never, platform)
    third.attach()
    final = await tick_until(third, lambda s: s.done)
    assert final.promoted and never.runs == 0 and (held.runs, quick.runs) == (1, 1)
    messages = [e.message for e in final.events if e.kind == "readiness"]
    assert messages == [
        "readiness checklist started",
        "readiness checklist started again: the controller that started it stopped before it finished",
        "readiness checklist passed: 1 of 1 checks passed",
    ]


async def test_an_abort_while_the_checklist_runs_stops_it(tmp_path: Path) -> None:
    held = Checklist(FAILING, hold=True)
    ctl = controller(tmp_path, held)
    ctl.start("v1")
    await tick_until(ctl, lambda s: s.done)
    status = ctl.start("v2")
    await tick_until(ctl, lambda s: s.stage == "readiness" and held.started.is_set())
    ctl.store.post_command(status.rollout_id, "abort")
    final = await tick_until(ctl, lambda s: s.done)
    assert final.phase.value == "RolledBack" and final.stable == "v1"
    stopped = final.data_steps["readiness"]
    assert stopped.outcome is HookOutcome.CANCELLED and "rolling back: aborted by request" in stopped.detail
    assert held.runs == 1 and not held.release.is_set()  # never finished: cancelled, its result never used
    await ctl.aclose()


async def test_blue_green_runs_it_before_the_switch_and_a_failure_never_gives_the_preview_traffic(
    tmp_path: Path,
) -> None:
    held = Checklist(FAILING, hold=True)
    ctl = controller(tmp_path, held, strategy={"blue_green": {}})
    ctl.start("v1")
    await tick_until(ctl, lambda s: s.done)
    assert held.runs == 0
    ctl.start("v2")
    status = await tick_until(ctl, lambda s: s.stage == "readiness" and held.started.is_set())
    assert status.weights.get("v2", 0) == 0 and ctl.router.weights == {"v1": 100, "v2": 0}  # the preview: no users
    held.release.set()
    final = await tick_until(ctl, lambda s: s.done)
    assert (final.phase.value, final.stable) == ("RolledBack", "v1")
    rollback = next(e for e in final.events if e.kind == "rollback")
    assert rollback.trigger == "readiness checklist" and "check gate (fail: check.failed)" in rollback.message
    assert all(weights.get("v2", 0) == 0 for weights in ctl.router.applied)  # never switched, not even for a tick
    await ctl.aclose()


async def test_blue_green_switches_once_the_checklist_passed(tmp_path: Path) -> None:
    ok = Checklist(PASS)
    ctl = controller(tmp_path, ok, strategy={"blue_green": {}})
    ctl.start("v1")
    await tick_until(ctl, lambda s: s.done)
    ctl.start("v2")
    final = await tick_until(ctl, lambda s: s.done)
    assert final.promoted and final.stable == "v2" and ok.runs == 1
    kinds = [e.kind for e in final.events]
    assert kinds.index("readiness") < kinds.index("promoted")
    switched = next(i for i, w in enumerate(ctl.router.applied) if w.get("v2") == 100)
    assert ctl.router.applied[switched - 1].get("v2", 0) == 0  # straight from the preview to all of the traffic
    await ctl.aclose()
