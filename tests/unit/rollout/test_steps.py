"""Table-driven tests of the pure step machine: spec + status + observations + now → (status, actions)."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from greenflag.analysis.verdicts import Verdict
from greenflag.rollout.actions import (
    LaunchVersion,
    Notify,
    RunHook,
    SetBackends,
    SetHeaderRoute,
    SetWeights,
    StopVersion,
    WaitReady,
)
from greenflag.rollout.model import (
    HookOutcome,
    HookState,
    Measurement,
    Observations,
    Phase,
    Status,
)
from greenflag.rollout.steps import analysis_active, decide, new_status, plan, rollout_steps
from greenflag.spec import Spec

T0 = 1_000_000.0


def make_spec(strategy: dict[str, Any] | None = None, **extra: Any) -> Spec:
    strategy = strategy or {"canary": {"steps": [{"set_weight": 10}, {"pause": {"duration": "10s"}}]}}
    data: dict[str, Any] = {"service": "svc", "strategy": strategy, **extra}
    data.setdefault("platform", {"command": "app --port {port}", "start_timeout": "30s", "stop_grace": "1s"})
    return Spec.model_validate(data)


def at_stage(spec: Spec, stage: str, *, stable: str | None = "v1", **fields: Any) -> Status:
    status = new_status(spec, 1, "v2", stable, T0)
    status.stage = stage
    if stage.startswith("step:"):
        status.step = int(stage[5:])
    for key, value in fields.items():
        setattr(status, key, value)
    return status


UP = Observations(launched=frozenset({"v1", "v2"}))


def w(**weights: int) -> SetWeights:
    return SetWeights(tuple(sorted(weights.items())))


class Case(NamedTuple):
    """One row of the decide table: a rollout at `stage` (plus status `fields`) sees `obs` at T0 + `dt`."""

    name: str
    strategy: dict[str, Any] | None  # None: a canary of set_weight 10 then a 10 s pause
    stage: str
    fields: dict[str, Any]  # set on the status before deciding
    obs: Observations
    dt: float  # seconds after T0
    want_stage: str
    want_phase: Phase
    want_actions: list[Any] | None  # None: not checked


CASES: list[Case] = [
    Case(
        name="launch asks the platform",
        strategy=None,
        stage="launch",
        fields={},
        obs=Observations(launched=frozenset({"v1"})),
        dt=0,
        want_stage="launch",
        want_phase=Phase.PROGRESSING,
        want_actions=[LaunchVersion("v2")],
    ),
    Case(
        name="a launch failure rolls back",
        strategy=None,
        stage="launch",
        fields={},
        obs=Observations(launched=frozenset({"v1"}), liveness_failures={"v2": "cannot start 'nope'"}),
        dt=0,
        want_stage="scale_down_canary",
        want_phase=Phase.DEGRADED,
        want_actions=None,
    ),
    Case(
        name="ready waits for the gate",
        strategy=None,
        stage="ready",
        fields={},
        obs=UP,
        dt=1,
        want_stage="ready",
        want_phase=Phase.PROGRESSING,
        want_actions=[WaitReady("v2")],
    ),
    Case(
        name="ready passes into test traffic and the first step",
        strategy=None,
        stage="ready",
        fields={},
        obs=Observations(launched=frozenset({"v1", "v2"}), ready={"v2": True}),
        dt=1,
        want_stage="step:1",
        want_phase=Phase.PAUSED,
        want_actions=[SetBackends(("v1", "v2")), SetHeaderRoute("v2"), w(v1=90, v2=10)],
    ),
    Case(
        name="set_weight step",
        strategy=None,
        stage="step:0",
        fields={},
        obs=UP,
        dt=0,
        want_stage="step:1",
        want_phase=Phase.PAUSED,
        want_actions=[w(v1=90, v2=10)],
    ),
    Case(
        name="timed pause holds",
        strategy=None,
        stage="step:1",
        fields={"pause_started_at": T0, "phase": Phase.PAUSED},
        obs=UP,
        dt=5,
        want_stage="step:1",
        want_phase=Phase.PAUSED,
        want_actions=[],
    ),
    Case(
        name="timed pause ends, promotion",
        strategy=None,
        stage="step:1",
        fields={"pause_started_at": T0, "phase": Phase.PAUSED},
        obs=UP,
        dt=10,
        want_stage="done",
        want_phase=Phase.HEALTHY,
        want_actions=[
            w(v2=100),
            SetHeaderRoute(None),
            Notify("rollout_completed", "svc: v2 promoted"),
            SetBackends(("v2",)),
            StopVersion("v1", 1.0),
        ],
    ),
    Case(
        name="indefinite pause holds",
        strategy={"canary": {"steps": [{"pause": {}}]}},
        stage="step:0",
        fields={"pause_started_at": T0, "phase": Phase.PAUSED},
        obs=UP,
        dt=3600,
        want_stage="step:0",
        want_phase=Phase.PAUSED,
        want_actions=[],
    ),
    Case(
        name="indefinite pause + resume",
        strategy={"canary": {"steps": [{"pause": {}}]}},
        stage="step:0",
        fields={"pause_started_at": T0, "phase": Phase.PAUSED},
        obs=Observations(launched=frozenset({"v1", "v2"}), commands=("resume",)),
        dt=1,
        want_stage="done",
        want_phase=Phase.HEALTHY,
        want_actions=None,
    ),
    Case(
        name="promote skips a timed pause",
        strategy=None,
        stage="step:1",
        fields={"pause_started_at": T0, "phase": Phase.PAUSED},
        obs=Observations(launched=frozenset({"v1", "v2"}), commands=("promote",)),
        dt=1,
        want_stage="done",
        want_phase=Phase.HEALTHY,
        want_actions=None,
    ),
    Case(
        name="resume does not skip a timed pause",
        strategy=None,
        stage="step:1",
        fields={"pause_started_at": T0, "phase": Phase.PAUSED},
        obs=Observations(launched=frozenset({"v1", "v2"}), commands=("resume",)),
        dt=1,
        want_stage="step:1",
        want_phase=Phase.PAUSED,
        want_actions=[],
    ),
    Case(
        name="analysis step runs for its duration",
        strategy={"canary": {"steps": [{"analysis": {"duration": "5s"}}]}},
        stage="step:0",
        fields={"analysis_started_at": T0},
        obs=UP,
        dt=2,
        want_stage="step:0",
        want_phase=Phase.PROGRESSING,
        want_actions=[],
    ),
    Case(
        name="an analysis step with nothing to measure passes",
        strategy={"canary": {"steps": [{"analysis": {"duration": "5s"}}]}},
        stage="step:0",
        fields={"analysis_started_at": T0},
        obs=UP,
        dt=5,
        want_stage="done",
        want_phase=Phase.HEALTHY,
        want_actions=None,
    ),
    Case(
        name="promote --full jumps to 100 %",
        strategy={"canary": {"steps": [{"set_weight": 10}, {"pause": {}}, {"set_weight": 50}]}},
        stage="step:1",
        fields={"pause_started_at": T0, "phase": Phase.PAUSED},
        obs=Observations(launched=frozenset({"v1", "v2"}), commands=("promote_full",)),
        dt=1,
        want_stage="done",
        want_phase=Phase.HEALTHY,
        want_actions=None,
    ),
    Case(
        name="abort rolls back at once",
        strategy=None,
        stage="step:1",
        fields={"pause_started_at": T0, "phase": Phase.PAUSED, "weights": {"v1": 90, "v2": 10}},
        obs=Observations(launched=frozenset({"v1", "v2"}), commands=("abort",)),
        dt=1,
        want_stage="scale_down_canary",
        want_phase=Phase.DEGRADED,
        want_actions=[
            w(v1=100),
            SetHeaderRoute(None),
            Notify("rollout_aborted", "svc: rollout of v2 aborted: aborted by request"),
        ],
    ),
    Case(
        name="canary process gone rolls back",
        strategy=None,
        stage="step:1",
        fields={"pause_started_at": T0, "phase": Phase.PAUSED},
        obs=Observations(launched=frozenset({"v1"})),
        dt=1,
        want_stage="scale_down_canary",
        want_phase=Phase.DEGRADED,
        want_actions=None,
    ),
    Case(
        name="liveness failure rolls back",
        strategy=None,
        stage="step:1",
        fields={"phase": Phase.PAUSED, "pause_started_at": T0},
        obs=Observations(launched=frozenset({"v1", "v2"}), liveness_failures={"v2": "GET /live: status 500"}),
        dt=1,
        want_stage="scale_down_canary",
        want_phase=Phase.DEGRADED,
        want_actions=None,
    ),
    Case(
        name="readiness timeout rolls back",
        strategy=None,
        stage="ready",
        fields={},
        obs=UP,
        dt=31,
        want_stage="scale_down_canary",
        want_phase=Phase.DEGRADED,
        want_actions=None,
    ),
    Case(
        name="scale down after the abort delay",
        strategy=None,
        stage="scale_down_canary",
        fields={"aborted": True, "phase": Phase.DEGRADED, "weights": {"v1": 100}},
        obs=UP,
        dt=5,
        want_stage="done",
        want_phase=Phase.ROLLED_BACK,
        want_actions=[
            SetBackends(("v1",)),
            StopVersion("v2", 1.0),
            Notify("rollout_rolled_back", "svc: v2 rolled back"),
        ],
    ),
    Case(
        name="scale down waits for the abort delay",
        strategy=None,
        stage="scale_down_canary",
        fields={"aborted": True, "phase": Phase.DEGRADED},
        obs=UP,
        dt=1,
        want_stage="scale_down_canary",
        want_phase=Phase.DEGRADED,
        want_actions=[],
    ),
    Case(
        name="blue-green waits for its scale-down delay",
        strategy={"blue_green": {"scale_down_delay": "30s"}},
        stage="scale_down",
        fields={"phase": Phase.HEALTHY, "stable": "v2", "previous": "v1"},
        obs=UP,
        dt=10,
        want_stage="scale_down",
        want_phase=Phase.HEALTHY,
        want_actions=[],
    ),
    Case(
        name="blue-green scales the old version down",
        strategy={"blue_green": {"scale_down_delay": "30s"}},
        stage="scale_down",
        fields={"phase": Phase.HEALTHY, "stable": "v2", "previous": "v1"},
        obs=UP,
        dt=30,
        want_stage="done",
        want_phase=Phase.HEALTHY,
        want_actions=[SetBackends(("v2",)), StopVersion("v1", 1.0)],
    ),
]


@pytest.mark.parametrize(
    ("strategy", "stage", "fields", "obs", "dt", "want_stage", "want_phase", "want_actions"),
    [case[1:] for case in CASES],
    ids=[case.name for case in CASES],
)
def test_decide_table(
    strategy: dict[str, Any] | None,
    stage: str,
    fields: dict[str, Any],
    obs: Observations,
    dt: float,
    want_stage: str,
    want_phase: Phase,
    want_actions: list[Any] | None,
) -> None:
    spec = make_spec(strategy, analysis={"defaults": False})  # the stages and steps; judgement: tests below
    status = at_stage(spec, stage, **fields)
    before = Status.from_json(status.to_json())
    new, actions = decide(spec, status, obs, T0 + dt)
    assert (new.stage, new.phase) == (want_stage, want_phase)
    if want_actions is not None:
        assert actions == want_actions
    assert status == before, "decide must not change its input"


def run_hooks_spec() -> Spec:
    return make_spec(
        {"canary": {"steps": [{"set_weight": 100}]}},
        hooks={"before_allow_traffic": ["./a", "./b"], "on_rollback": ["./undo"]},
    )


def test_hooks_run_one_at_a_time_in_order() -> None:
    spec = run_hooks_spec()
    status = at_stage(spec, "before_allow_traffic")
    new, actions = decide(spec, status, UP, T0)
    assert actions == [RunHook("before_allow_traffic[0]", "before_allow_traffic", "./a", 300.0)]
    started = Observations(launched=UP.launched, hooks={"before_allow_traffic[0]": HookState(HookOutcome.STARTED)})
    new, actions = decide(spec, new, started, T0 + 1)
    assert actions == [] and new.stage == "before_allow_traffic"
    first_ok = Observations(launched=UP.launched, hooks={"before_allow_traffic[0]": HookState(HookOutcome.OK)})
    new, actions = decide(spec, new, first_ok, T0 + 2)
    assert actions == [RunHook("before_allow_traffic[1]", "before_allow_traffic", "./b", 300.0)]


@pytest.mark.parametrize("outcome", [HookOutcome.FAILED, HookOutcome.INTERRUPTED])
def test_failed_or_interrupted_hook_rolls_back_and_runs_on_rollback(outcome: HookOutcome) -> None:
    spec = run_hooks_spec()
    status = at_stage(spec, "before_allow_traffic")
    obs = Observations(launched=UP.launched, hooks={"before_allow_traffic[0]": HookState(outcome, "exit 1")})
    new, actions = decide(spec, status, obs, T0)
    assert new.phase is Phase.DEGRADED and new.weights == {"v1": 100}
    assert RunHook("on_rollback[0]", "on_rollback", "./undo", 300.0) in actions
    rollback = new.events[-1] if new.events[-1].kind == "rollback" else new.events[-2]
    assert rollback.trigger == "hook before_allow_traffic[0]" and rollback.value == "exit 1"


def test_failed_on_rollback_hook_does_not_stop_the_rollback() -> None:
    spec = run_hooks_spec()
    status = at_stage(spec, "on_rollback", aborted=True, phase=Phase.DEGRADED)
    obs = Observations(launched=UP.launched, hooks={"on_rollback[0]": HookState(HookOutcome.FAILED, "exit 2")})
    new, _ = decide(spec, status, obs, T0)
    assert new.stage == "scale_down_canary"


LIMIT = "relative SPRT: canary error rate above 0.011"


def measurement(verdict: Verdict, value: float, metric: str = "error_rate") -> Measurement:
    return Measurement(metric, T0, value, verdict, f"{metric}: canary {value} vs stable: {verdict}", LIMIT)


def running(run: str, **fields: Any) -> dict[str, Any]:
    """Status fields of a rollout whose analysis run `run` is measuring."""
    return {**fields, "analysis_run": run, "analysis": {run: {"started_at": T0, "metrics": {}}}}


def measured(run: str, *ms: Measurement) -> Observations:
    return Observations(launched=UP.launched, measurements=ms, analysis_run=run)


def test_failed_analysis_rolls_back_in_the_same_tick_naming_metric_value_and_limit() -> None:
    spec = make_spec()
    fields = running("background", phase=Phase.PAUSED, pause_started_at=T0, weights={"v1": 90, "v2": 10})
    status = at_stage(spec, "step:1", **fields)
    new, actions = decide(spec, status, measured("background", measurement(Verdict.FAILED, 0.05)), T0 + 1)
    assert actions[0] == w(v1=100)
    event = next(e for e in new.events if e.kind == "rollback")
    assert (event.trigger, event.value, event.limit) == ("error_rate", 0.05, LIMIT)
    assert "error_rate: canary 0.05" in event.message


def test_measurements_of_another_run_are_ignored() -> None:
    spec = make_spec()
    fields = running("background", phase=Phase.PAUSED, pause_started_at=T0, weights={"v1": 90, "v2": 10})
    status = at_stage(spec, "step:1", **fields)
    new, _ = decide(spec, status, measured("step:0", measurement(Verdict.FAILED, 0.05)), T0 + 1)
    assert not new.aborted and new.analysis["background"]["metrics"] == {}


def test_failure_limit_tolerates_failures() -> None:
    spec = make_spec(
        analysis={"metrics": [{"name": "error-rate", "query": "error_rate", "failure_condition": "result > 0.01",
                               "failure_limit": 1}]},
    )  # fmt: skip
    fields = running("background", phase=Phase.PAUSED, pause_started_at=T0, weights={"v1": 90, "v2": 10})
    status = at_stage(spec, "step:1", **fields)
    obs = measured("background", measurement(Verdict.FAILED, 0.05, "error-rate"))
    new, _ = decide(spec, status, obs, T0 + 1)
    assert not new.aborted
    new = Status.from_json(new.to_json())  # a restarted controller: the counts come from the journal
    new, _ = decide(spec, new, obs, T0 + 2)
    assert new.aborted
    assert new.analysis["background"]["metrics"]["error-rate"]["failed"] == 2


def test_inconclusive_pauses_until_resumed() -> None:
    spec = make_spec({"canary": {"steps": [{"set_weight": 10}, {"analysis": {"duration": "5s"}}]}})
    status = at_stage(spec, "step:1", **running("step:1", analysis_started_at=T0))
    new, _ = decide(spec, status, measured("step:1", measurement(Verdict.INCONCLUSIVE, 0.0)), T0 + 10)
    assert (new.phase, new.hold, new.stage) == (Phase.PAUSED, "inconclusive", "step:1")
    new, _ = decide(spec, new, UP, T0 + 11)
    assert new.phase is Phase.PAUSED
    resumed = Observations(launched=UP.launched, commands=("resume",))
    new, _ = decide(spec, new, resumed, T0 + 12)
    assert (new.phase, new.hold, new.stage) == (Phase.PROGRESSING, None, "step:1"), "analysed again, afresh"
    assert new.analysis["step:1"] == {"started_at": T0 + 12, "metrics": {}} and new.analysis_started_at == T0 + 12
    ok = (measurement(Verdict.SUCCESSFUL, 0.0), measurement(Verdict.SUCCESSFUL, 50.0, "latency"))
    new, _ = decide(spec, new, measured("step:1", *ok), T0 + 17)
    assert (new.phase, new.hold, new.stage) == (Phase.HEALTHY, None, "done")


def test_initial_deployment_goes_straight_to_100() -> None:
    spec = make_spec()
    status = new_status(spec, 1, "v1", None, T0)
    assert status.initial and rollout_steps(spec, status)[0].set_weight == 100  # type: ignore[union-attr]
    obs = Observations(launched=frozenset({"v1"}), ready={"v1": True})
    new, actions = decide(spec, status, obs, T0)
    assert (new.phase, new.stable, new.weights, new.stage) == (Phase.HEALTHY, "v1", {"v1": 100}, "done")
    assert SetBackends(("v1",)) in actions


def test_failed_initial_deployment_leaves_no_traffic() -> None:
    spec = make_spec()
    status = at_stage(spec, "ready", stable=None)
    new, actions = decide(spec, status, Observations(launched=frozenset({"v2"})), T0 + 31)
    assert new.weights == {} and actions[0] == SetWeights(())
    new, actions = decide(spec, new, Observations(), T0 + 40)
    assert (new.phase, new.stage, new.stable) == (Phase.ROLLED_BACK, "done", None)


def test_blue_green_is_a_two_step_plan_with_analysis_and_manual_promotion() -> None:
    spec = make_spec({"blue_green": {"pre_promotion_analysis": {"duration": "5s"}, "auto_promote": False}})
    status = at_stage(spec, "step:0")
    kinds = [type(s).__name__ for s in rollout_steps(spec, status)]
    assert kinds == ["AnalysisStep", "PauseStep", "SetWeightStep"]
    assert analysis_active(spec, status)
    new, _ = decide(spec, status, UP, T0)
    ok = (measurement(Verdict.SUCCESSFUL, 0.0), measurement(Verdict.SUCCESSFUL, 50.0, "latency"))
    new, _ = decide(spec, new, measured("step:0", *ok), T0 + 5)
    assert (new.stage, new.phase, new.weights) == ("step:1", Phase.PAUSED, {"v1": 100})
    new, actions = decide(spec, new, Observations(launched=UP.launched, commands=("promote",)), T0 + 6)
    assert (new.phase, new.weights) == (Phase.HEALTHY, {"v2": 100})
    assert w(v1=0, v2=100) in actions


def test_background_analysis_only_while_the_canary_has_traffic() -> None:
    spec = make_spec()
    assert not analysis_active(spec, at_stage(spec, "step:0"))
    assert analysis_active(spec, at_stage(spec, "step:1", weights={"v1": 90, "v2": 10}))
    assert not analysis_active(spec, at_stage(spec, "step:1", weights={"v1": 90, "v2": 10}, aborted=True))


def test_plan_lists_every_stage() -> None:
    spec = make_spec()
    status = at_stage(spec, "launch")
    assert plan(spec, status)[:4] == ["before_install", "launch", "ready", "after_install"]
    assert plan(spec, status)[-3:] == ["promote", "scale_down", "done"]
    status.aborted = True
    assert plan(spec, status) == ["on_rollback", "scale_down_canary", "done"]


def test_commands_after_the_end_are_ignored() -> None:
    spec = make_spec()
    status = at_stage(spec, "done", phase=Phase.HEALTHY, stable="v2")
    new, actions = decide(spec, status, Observations(commands=("abort", "promote")), T0)
    assert (new.phase, actions) == (Phase.HEALTHY, [])


def test_status_json_round_trip_keeps_everything() -> None:
    spec = make_spec(hooks={"on_rollback": ["./undo"]})
    fields = running("background", phase=Phase.PAUSED, pause_started_at=T0, weights={"v1": 90, "v2": 10})
    status = at_stage(spec, "step:1", **fields)
    new, _ = decide(spec, status, measured("background", measurement(Verdict.FAILED, 0.2)), T0 + 1)
    data = new.to_json()
    assert {"phase", "stable", "canary", "weights", "step", "events"} <= set(data)
    assert Status.from_json(data) == new
    rollback = next(e for e in data["events"] if e["kind"] == "rollback")
    assert (rollback["trigger"], rollback["value"], rollback["limit"]) == ("error_rate", 0.2, LIMIT)
    assert [m.to_dict() for m in Status.from_json(data).measurements] == data["measurements"]


def test_schema_version_is_checked() -> None:
    spec = make_spec()
    data = at_stage(spec, "launch").to_json()
    data["schema"] = 99
    with pytest.raises(ValueError, match="schema 99"):
        Status.from_json(data)


def test_rolling_back_stops_a_forward_hook_still_running_until_it_is_journaled() -> None:
    from greenflag.rollout.actions import StopHook

    spec = run_hooks_spec()
    status = at_stage(spec, "before_allow_traffic")
    running = {"before_allow_traffic[0]": HookState(HookOutcome.STARTED)}
    obs = Observations(launched=UP.launched, hooks=running, commands=("abort",))
    new, actions = decide(spec, status, obs, T0)
    stops = [a for a in actions if isinstance(a, StopHook)]
    assert [s.key for s in stops] == ["before_allow_traffic[0]"] and "aborted by request" in stops[0].reason
    new, actions = decide(spec, new, Observations(launched=UP.launched, hooks=running), T0 + 1)
    assert StopHook("before_allow_traffic[0]", stops[0].reason) in actions, "asked again while still running"
    cancelled = {"before_allow_traffic[0]": HookState(HookOutcome.CANCELLED, "stopped")}
    new, actions = decide(spec, new, Observations(launched=UP.launched, hooks=cancelled), T0 + 2)
    assert not any(isinstance(a, StopHook) for a in actions)
    assert any(e.kind == "hook" and "cancelled: stopped" in e.message for e in new.events)


def test_a_new_rollout_takes_over_the_scale_down_of_the_previous_one() -> None:
    from greenflag.rollout.steps import hand_over

    spec = make_spec({"blue_green": {"scale_down_delay": "30s"}})
    previous = at_stage(spec, "scale_down", phase=Phase.HEALTHY, stable="v2", previous="v1", stage_started_at=T0)
    previous.version = "v2"
    done, retiring = hand_over(spec, previous, 2, T0 + 5)
    assert (done.stage, retiring) == ("done", {"v1": T0 + 30})
    assert done.events[-1].kind == "handed_over" and previous.stage == "scale_down", "the input is not changed"
    status = new_status(spec, 2, "v3", "v2", T0 + 5, retiring)
    assert status.retiring == {"v1": T0 + 30}
    status.stage = "step:0"
    _, actions = decide(spec, status, Observations(launched=frozenset({"v1", "v2", "v3"})), T0 + 10)
    assert StopVersion("v1", 1.0) not in actions, "not before its delay ends"
    new, actions = decide(spec, status, Observations(launched=frozenset({"v1", "v2", "v3"})), T0 + 30)
    assert StopVersion("v1", 1.0) in actions and new.retiring == {}
    assert new_status(spec, 3, "v1", "v2", T0, {"v1": T0 + 30}).retiring == {}, "rolling back to it keeps it"


def test_the_new_rollouts_own_scale_down_stops_what_it_was_retiring_at_the_latest() -> None:
    spec = make_spec()
    status = at_stage(spec, "scale_down_canary", aborted=True, phase=Phase.DEGRADED, retiring={"v0": T0 + 999})
    new, actions = decide(spec, status, UP, T0 + 5)
    assert new.stage == "done" and StopVersion("v0", 1.0) in actions and new.retiring == {}
