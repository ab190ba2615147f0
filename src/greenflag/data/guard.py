"""The expand/contract guard (I/O): the stable version's smoke checks, probed on its running instances.

During a canary both versions run against one schema, so after `up` the guard probes every instance of the
stable version with `migrations.guard.checks` (greenflag.health probes: `http`, `tcp`, or `exec` with
`{target}`), each through its own gate (thresholds and interval, as health checks). The guard passes when every
check's gate passes on every stable instance and fails as soon as one check's gate fails. Gates are caches: a
restarted controller probes afresh. How long the guard may take, and what a result means, is decided by the
rollout's pure step machine.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Callable

from greenflag.health.base import Probe
from greenflag.health.gate import Gate
from greenflag.health.probes import make_probe
from greenflag.platform.base import Instance
from greenflag.rollout.actions import RunGuard
from greenflag.rollout.model import HookOutcome, HookState, Status
from greenflag.rollout.observe import HealthGates
from greenflag.spec import GuardSpec, ProbeSpec

__all__ = ["GuardRunner", "describe_check"]


def describe_check(index: int, check: ProbeSpec) -> str:
    """How an event names a check: `checks[0] GET /items`."""
    if check.http is not None:
        what = f"GET {check.http}"
    elif check.exec is not None:
        what = shlex.join(check.exec)
    else:
        what = "tcp connect"
    return f"checks[{index}] {what}"


class GuardRunner:
    """Carries out RunGuard actions (probing when gates are due) and reports each guard stage's state."""

    def __init__(self, guard: GuardSpec, probes: Callable[[ProbeSpec], Probe] = make_probe) -> None:
        self.guard = guard
        self.gates = HealthGates(probes)
        self._results: dict[tuple[int, str], HookState] = {}

    async def run(self, status: Status, action: RunGuard, instances: list[Instance], now: float) -> None:
        """Probe what is due (`now`: monotonic seconds) and record the stage's state for the next observation."""
        if self._results.get((status.rollout_id, action.key), HookState(HookOutcome.STARTED)).outcome in (
            HookOutcome.OK,
            HookOutcome.FAILED,
        ):
            return
        targets = sorted(i.url for i in instances if i.version == action.version)
        gates: list[Gate] = list(
            await asyncio.gather(
                *(
                    self.gates.check(f"{status.rollout_id}:{action.key}[{i}]", check, action.version, targets, now)
                    for i, check in enumerate(self.guard.checks)
                )
            )
        )
        self._results[(status.rollout_id, action.key)] = self._judge(action, gates, len(targets))

    def _judge(self, action: RunGuard, gates: list[Gate], instances: int) -> HookState:
        for i, gate in enumerate(gates):
            if gate.failing:
                name = describe_check(i, self.guard.checks[i])
                return HookState(HookOutcome.FAILED, f"{name} failed on {action.version}: {gate.describe()}")
        if all(gate.passing for gate in gates):
            plural = "s" if instances != 1 else ""
            return HookState(
                HookOutcome.OK, f"{action.version} passed {len(gates)} check(s) on {instances} instance{plural}"
            )
        return HookState(HookOutcome.STARTED)

    def states(self, status: Status) -> dict[str, HookState]:
        """The guard stages' states of this rollout (results of other rollouts are dropped)."""
        self._results = {k: v for k, v in self._results.items() if k[0] == status.rollout_id}
        return {key: state for (_, key), state in self._results.items()}
