"""The rollout controller: observe → decide → act → save, once per tick (≤ 1 s; 0.2 s by default).

All progress lives in the journal; the controller's memory holds only caches (probe gates, running hook
tasks, what the router was last told). A restarted controller re-applies the journaled router state on its
first tick and carries on. Drive it in-process:

    controller = Controller(spec, router=router, platform=platform, store=store)  # probes=, checklist=
    controller.start("v2")           # or controller.attach() to resume the current rollout
    status = await controller.run()  # until promoted or rolled back (and scaled down)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from greenflag.clock import Clock, SystemClock
from greenflag.data.runner import DataRunner
from greenflag.errors import UsageError
from greenflag.health.base import Probe, ProbeResult
from greenflag.health.gate import Gate
from greenflag.health.probes import make_probe
from greenflag.platform.base import ExitReporter, Instance, Platform, ReadinessSource
from greenflag.rollout.actions import (
    DATA_ACTIONS,
    Action,
    LaunchVersion,
    Notify,
    RunChecklist,
    RunHook,
    StopChecklist,
    StopHook,
    StopVersion,
)
from greenflag.rollout.alarm_watch import AlarmWatch
from greenflag.rollout.checkrunner import ChecklistFn, ChecklistRunner
from greenflag.rollout.hookrunner import HookRunner
from greenflag.rollout.model import Observations, Status
from greenflag.rollout.notifications import notify
from greenflag.rollout.observe import AnalysisRunner, HealthGates, backend_names
from greenflag.rollout.router_facts import RouterFacts
from greenflag.rollout.steps import decide, hand_over, new_status, note_router, plan
from greenflag.rollout.store import Store
from greenflag.rollout.synthetic import SyntheticTraffic, journal
from greenflag.rollout.validate import check_analysis
from greenflag.spec import ProbeSpec, Spec, check_version, differences
from greenflag.traffic.base import BackendManager, HeaderRouting, Router

__all__ = ["Controller", "spec_json"]

log = logging.getLogger(__name__)

_RouterState = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, int], ...], str | None]
READ_BACK_S = 1.0  # between changes, the router's weights are read back this often


def spec_json(spec: Spec) -> dict[str, Any]:
    """The spec as JSON, as journaled with each rollout and compared between `up` and the CLI."""
    data: dict[str, Any] = spec.model_dump(mode="json")
    return data


def _check_traffic(spec: Spec) -> None:
    """analysis.traffic.journeys must load (exit 2 before anything is launched)."""
    from greenflag.analysis.traffic import check_journeys

    check_journeys(spec.analysis.traffic, spec.source.parent if spec.source is not None else None)


def _keys(paths: list[str], limit: int = 8) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


class Controller:
    def __init__(
        self,
        spec: Spec,
        *,
        router: Router,
        platform: Platform,
        store: Store,
        clock: Clock | None = None,
        tick_s: float = 0.2,
        on_status: Callable[[Status], Awaitable[None] | None] | None = None,
        probes: Callable[[ProbeSpec], Probe] = make_probe,
        checklist: ChecklistFn | None = None,
    ) -> None:
        check_analysis(spec)
        _check_traffic(spec)
        self.spec = spec
        self.router = router
        self.platform = platform
        self.store = store
        self.clock = clock or SystemClock()
        self.tick_s = min(tick_s, 1.0)
        self.on_status = on_status
        self.status: Status | None = None
        self.gates = HealthGates(probes)
        self.analysis = AnalysisRunner(spec, router, self.clock, self._instance_counts)
        self.hooks = HookRunner(spec, store)
        self.synthetic = SyntheticTraffic(spec, router, self.clock)  # analysis.traffic, while analysing
        self.data = DataRunner(spec, store, probes, self.clock.monotonic)  # migrations, their guard, caches
        self.checklist = ChecklistRunner(spec, store, checklist)  # readiness.required_before: promote
        self.alarms = AlarmWatch(spec, self.clock)  # analysis.alarms (CloudWatch)
        self.facts = RouterFacts(router, spec, self.clock)  # drain time, the router's own health checks
        self._background: set[asyncio.Task[Any]] = set()
        self._applied: _RouterState | None = None
        self._read: dict[str, int] | None = None  # the weights last read back from the router
        self._read_due = 0.0
        self._instances: list[Instance] = []
        self._launch_errors: dict[str, str] = {}
        self._starting: set[str] = set()  # serving versions relaunched by supervision, not yet ready again

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self, version: str) -> Status:
        """Journal a new rollout of `version` (refused while another is in progress)."""
        try:
            check_version(version)
        except ValueError as exc:
            raise UsageError(f"--version: {exc}") from None
        now = self.clock.now().timestamp()

        def make(rollout_id: int, latest: Status | None) -> tuple[Status, Status | None]:
            previous, retiring = None, None
            if latest is not None and not latest.done:  # promoted, still scaling down: hand its old version over
                previous, retiring = hand_over(self.spec, latest, rollout_id, now)
            stable = latest.stable if latest is not None else None
            return new_status(self.spec, rollout_id, version, stable, now, retiring), previous

        self.status = self.store.create(self.spec.service, version, make, spec=spec_json(self.spec))
        self._reset_caches()
        return self.status

    def attach(self) -> Status | None:
        """Pick up the service's latest rollout from the journal (to resume it, or to supervise its result). A rollout
        in flight keeps the spec it started with: a different spec is refused (UsageError naming the keys)."""
        latest = self.store.latest(self.spec.service)
        if latest is not None and not latest.done:
            journaled = self.store.rollout_spec(latest.rollout_id)
            changed = differences(journaled, spec_json(self.spec)) if journaled is not None else []
            if changed:
                raise UsageError(
                    f"{self.spec.source or 'the spec'}: the rollout of {latest.version} in progress started with "
                    f"another spec (it differs in {_keys(changed)}); finish it with the spec it started with"
                )
        self.status = latest
        return self.status

    def _reset_caches(self) -> None:
        self.gates.forget()
        self.analysis.close()

    def _instance_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for instance in self._instances:
            counts[instance.version] = counts.get(instance.version, 0) + 1
        return counts

    async def run(self, *, until_done: bool = True) -> Status:
        """Tick until the rollout is done (promoted or rolled back, and scaled down)."""
        while True:
            began = self.clock.monotonic()
            status = await self.tick()
            if until_done and (status is None or status.done):
                if status is None:
                    raise UsageError(f"no rollout of {self.spec.service} to run; use `greenflag rollout start`")
                return status
            await self.clock.sleep(max(0.0, self.tick_s - (self.clock.monotonic() - began)))

    async def aclose(self) -> None:
        for task in list(self._background):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5.0)
        await self.synthetic.stop("the controller stopped")
        await self.hooks.aclose()
        await self.data.aclose()
        await self.checklist.aclose()
        self.analysis.close()
        self.alarms.close()

    # -- one tick -------------------------------------------------------------------------------------------
    async def tick(self) -> Status | None:
        if self.status is None:
            self.attach()
        current = status = self.status
        if status is None:
            return None
        latest = self.store.load(status.rollout_id)
        if latest is not None and latest.updated_at > status.updated_at:
            status = latest  # another controller process moved it on
        commands = self.store.pending_commands(status.rollout_id)
        observations = await self._observe(status, tuple(kind for _, kind in commands))
        new, actions = decide(self.spec, status, observations, self.clock.now().timestamp())
        stopped = await self.synthetic.stop_unless_due(new)  # no analysis request to a version being stopped
        await self._act(new, actions)
        said = stopped + await self.synthetic.sync(new, self._instances)
        new = journal(new, said, self.clock.now().timestamp())
        new = note_router(new, await self._read_back(), self.clock.now().timestamp())
        if new != status or commands:
            self.store.save(new, [command_id for command_id, _ in commands])
        if self.status is current:  # not replaced meanwhile by start() (the `up` API runs concurrently)
            self.status = new
        if self.on_status is not None:
            result = self.on_status(new)
            if result is not None:
                await result
        return new

    async def _observe(self, status: Status, commands: tuple[str, ...]) -> Observations:
        self._instances = await self.platform.instances()
        exits = tuple(self.platform.exits()) if isinstance(self.platform, ExitReporter) else ()
        counts = self._instance_counts()
        launched = frozenset(v for v, n in counts.items() if n >= self.spec.platform.instances)
        mono = self.clock.monotonic()
        ready: dict[str, bool | None] = {}
        live: dict[str, str] = dict(self._launch_errors)
        self._launch_errors.clear()
        version = status.version
        if status.stage == "ready" and version in launched:
            gate = await self._gate("readiness", version, mono)
            ready[version] = True if gate.passing and await self.facts.ready(self._backends_of(version)) else None
        elif not status.terminal and not status.aborted and version in launched and self._past_ready(status):
            gate = await self._gate("liveness", version, mono)
            if gate.failing:
                live[version] = gate.describe()
        elif status.done and status.stable in launched and self.spec.health.liveness is not None:
            await self._supervise_liveness(status.stable, mono)
        run, measurements = await self.analysis.measure(status)
        return Observations(
            launched=launched,
            ready=ready,
            liveness_failures=live,
            measurements=measurements,
            analysis_run=run,
            hooks=self.hooks.states(status),
            data_steps=self.data.states(status),
            checklist=self.checklist.observe(status),
            commands=commands,
            exits=exits,
            alarms=await self.alarms.poll(status),
            drain_s=await self.facts.drain_s(),
            open_requests=await self.facts.open_requests(self._leaving(status)),
        )

    async def _gate(self, kind: str, version: str, mono: float) -> Gate:
        spec = self.spec.health.readiness if kind == "readiness" else self.spec.health.liveness
        targets = [i.url for i in self._instances if i.version == version]
        if spec is None and isinstance(self.platform, ReadinessSource):  # listed = ready (the orchestrator's probes)
            source = self.platform.readiness_source()
            listed = ProbeResult(bool(targets), 0.0, f"{version}: {'ready' if targets else 'not ready'} by {source}")
            return Gate(started_at=mono, success_threshold=1, failure_threshold=1).observe(listed, mono)
        return await self.gates.check(kind, spec, version, targets, mono)

    async def _supervise_liveness(self, stable: str, mono: float) -> None:
        """After a rollout: restart the serving version when its liveness gate fails. A relaunched version is
        judged by its readiness gate until that passes (an instance still starting is not failing liveness)."""
        if stable in self._starting:
            if (await self._gate("readiness", stable, mono)).passing:
                self._starting.discard(stable)
                self.gates.forget(stable)
            return
        gate = await self._gate("liveness", stable, mono)
        if gate.failing:
            log.warning("%s failed liveness (%s): restarting it", stable, gate.describe())
            await self.platform.stop(stable, grace_s=self.spec.platform.stop_grace)
            await self.platform.launch(stable)
            self._relaunched(stable)
            self._instances = await self.platform.instances()

    def _relaunched(self, version: str) -> None:
        self.gates.forget(version)
        self._starting.add(version)

    def _backends_of(self, version: str) -> dict[str, str]:
        """The router's backend names of `version`'s instances → their URLs (as `router_state` names them)."""
        instances = sorted((i for i in self._instances if i.version == version), key=lambda i: i.id)
        return dict(zip(backend_names(version, len(instances)), (i.url for i in instances), strict=True))

    def _leaving(self, status: Status) -> dict[str, list[str]]:
        """In a scale-down stage, the version about to be stopped → its backend names (none when it has no instance)."""
        if status.stage not in ("scale_down", "scale_down_canary"):
            return {}
        versions = {status.version, status.previous} - {status.stable, None}
        return {v: list(self._backends_of(v)) for v in versions if v is not None}

    def _past_ready(self, status: Status) -> bool:
        stages = plan(self.spec, status)
        return status.stage in stages and stages.index(status.stage) > stages.index("ready")

    # -- acting ---------------------------------------------------------------------------------------------
    async def _act(self, status: Status, actions: list[Action]) -> None:
        stable = status.stable
        if status.done and stable is not None and not any(i.version == stable for i in self._instances):
            actions = [LaunchVersion(stable), *actions]  # supervise: the serving version must run
            self._relaunched(stable)
        for action in actions:
            if isinstance(action, LaunchVersion):
                try:
                    await self.platform.launch(action.version)
                except Exception as exc:  # reported as an observation: the rollout rolls back
                    log.warning("cannot launch %s: %s", action.version, exc)
                    self._launch_errors[action.version] = str(exc)
                self._instances = await self.platform.instances()
        await self.reconcile_router(status)
        for action in actions:
            if isinstance(action, StopVersion):
                await self.platform.stop(action.version, grace_s=action.grace_s)
                self.gates.forget(action.version)
            elif isinstance(action, RunHook):
                self.hooks.start(status, action)
            elif isinstance(action, StopHook):
                await self.hooks.stop(status, action.key, action.reason)
            elif isinstance(action, Notify):
                self._spawn(self._notify(status, action))
            elif isinstance(action, DATA_ACTIONS):
                await self.data.act(status, action, self._instances)
            elif isinstance(action, RunChecklist):
                self.checklist.start(status)
            elif isinstance(action, StopChecklist):
                await self.checklist.stop(status, action.reason)

    def router_state(self, status: Status) -> _RouterState:
        """What the router should hold for `status`: backends (name → URL), weights, header route."""
        by_version: dict[str, list[Instance]] = {}
        for instance in sorted(self._instances, key=lambda i: i.id):
            by_version.setdefault(instance.version, []).append(instance)
        backends: dict[str, str] = {}
        weights: dict[str, int] = {}
        for version in status.backends:
            instances = by_version.get(version, [])
            names = backend_names(version, len(instances)) if instances else []
            backends.update(zip(names, (i.url for i in instances), strict=True))
        for version, weight in status.weights.items():
            names = [n for n in backends if n == version or n.startswith(f"{version}-")] or [version]
            share, extra = divmod(weight, len(names))
            weights.update({n: share + (1 if i < extra else 0) for i, n in enumerate(names)})
        header = status.header_route
        if header is not None and header not in backends:
            header = next((n for n in backends if n.startswith(f"{header}-")), header)
        return tuple(sorted(backends.items())), tuple(sorted(weights.items())), header

    def full_weights(self, desired: _RouterState) -> dict[str, int]:
        """The weights to apply: every backend named, absent = 0 (the desired backends; for a router whose backends
        greenflag does not manage, also every backend it was last seen to hold)."""
        backends, weights, _ = desired
        intended = dict(weights)
        names = set(dict(backends)) if backends else set(intended)
        if not isinstance(self.router, BackendManager):
            names |= set(self._read or {}) | set(intended)
        return {name: intended.get(name, 0) for name in sorted(names)}

    async def reconcile_router(self, status: Status) -> None:
        """Make the router hold the journaled state (idempotent; retried next tick on failure). Every weight change
        names every backend (absent = 0), and is read back on the same tick (`_read_back`)."""
        desired = self.router_state(status)
        if desired == self._applied:
            return
        backends, _, header = desired
        try:
            if isinstance(self.router, BackendManager):
                await self.router.set_backends(dict(backends))
            await self.router.apply(self.full_weights(desired))
            if isinstance(self.router, HeaderRouting):
                await self.router.set_header_route(header)
        except Exception as exc:  # router trouble is retried on the next tick
            log.warning("router update failed (retrying next tick): %s", exc)
            self._applied = None
            return
        self._applied = desired
        self._read_due = 0.0  # read it back now

    async def _read_back(self) -> dict[str, int] | None:
        """The weights the router holds (its `observe()`), read after every change and at least once a second.
        When they differ from what was applied the router is told again on the next tick."""
        mono = self.clock.monotonic()
        if mono < self._read_due:
            return None
        self._read_due = mono + READ_BACK_S
        try:
            observed = await self.router.observe()
        except Exception as exc:  # an unreachable router is retried; the status keeps the last read-back
            log.warning("router read-back failed: %s", exc)
            return None
        if observed is None:
            return None
        self._read = dict(observed)
        if self._applied is not None:
            want = {n: w for n, w in self.full_weights(self._applied).items() if w}
            if {n: w for n, w in observed.items() if w} != want:
                log.warning("router holds %s, not the applied %s: applying again", observed, want)
                self._applied = None
        return self._read

    async def _notify(self, status: Status, action: Notify) -> None:
        payload = {
            "service": status.service,
            "version": status.version,
            "stable": status.stable,
            "phase": str(status.phase),
            "rollout_id": status.rollout_id,
            "message": action.message,
        }
        await notify(self.spec.notifications, action.event, payload)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
