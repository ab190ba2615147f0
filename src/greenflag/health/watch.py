"""Running a gate against a live target: `wait_ready` (until passing or a deadline) and `watch` (forever)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from greenflag.clock import Clock
from greenflag.health.base import Probe
from greenflag.health.gate import Gate
from greenflag.spec import ProbeSpec

__all__ = ["wait_ready", "watch"]


async def watch(probe: Probe, target: str, spec: ProbeSpec, clock: Clock) -> AsyncIterator[Gate]:
    """Probe on the gate's schedule and yield the gate after every check (the caller stops iterating)."""
    gate = Gate.from_spec(spec, clock.monotonic())
    while True:
        wait = gate.next_due() - clock.monotonic()
        if wait > 0:
            await clock.sleep(wait)
        result = await probe.check(target)
        gate = gate.observe(result, clock.monotonic())
        yield gate


async def wait_ready(
    probe: Probe,
    target: str,
    spec: ProbeSpec,
    clock: Clock,
    *,
    timeout: float,
    stop_on_failure: bool = False,
) -> Gate:
    """Probe until the gate passes (or fails, with `stop_on_failure`) or `timeout` seconds pass; returns the gate.

    Check `gate.passing`; `gate.describe()` says why not.
    """
    deadline = clock.monotonic() + timeout
    gate = Gate.from_spec(spec, clock.monotonic())
    while not gate.passing and not (stop_on_failure and gate.failing):
        due = gate.next_due()
        if due > deadline:
            break
        wait = due - clock.monotonic()
        if wait > 0:
            await clock.sleep(wait)
        gate = gate.observe(await probe.check(target), clock.monotonic())
    return gate
