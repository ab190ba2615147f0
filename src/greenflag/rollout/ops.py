"""Rollout operations shared by the `up` API and the CLI's direct-journal mode."""

from __future__ import annotations

from typing import Any

from greenflag.errors import UsageError
from greenflag.rollout.model import Phase, Status
from greenflag.rollout.store import Store

__all__ = ["COMMANDS", "post_command", "retry_version", "status_json", "undo_version"]

COMMANDS = ("promote", "promote_full", "abort", "resume")


def post_command(store: Store, service: str, kind: str) -> Status:
    """Queue `kind` for the controller of the in-flight rollout. UsageError when there is none."""
    if kind not in COMMANDS:
        raise UsageError(f"unknown command {kind!r}; expected one of {', '.join(COMMANDS)}")
    latest = store.latest(service)
    if latest is None or latest.terminal:
        state = "no rollout yet" if latest is None else f"the last one is {latest.phase}"
        raise UsageError(f"no rollout of {service} is in progress ({state})")
    store.post_command(latest.rollout_id, kind)
    return latest


def undo_version(store: Store, service: str) -> str:
    """The version that was stable before the current one (Argo's `undo`)."""
    latest = store.latest(service)
    if latest is None:
        raise UsageError(f"nothing to undo: {service} has no rollouts yet")
    if not latest.terminal:
        raise UsageError(f"a rollout of {service} to {latest.version} is in progress; abort it instead of undo")
    for status in store.history(service, limit=200):
        if status.phase is Phase.HEALTHY and status.previous and status.previous != latest.stable:
            return status.previous
    raise UsageError(f"nothing to undo: {service} has no earlier stable version than {latest.stable}")


def retry_version(store: Store, service: str) -> str:
    """The version of the last rollout, when it was rolled back."""
    latest = store.latest(service)
    if latest is None or latest.phase is not Phase.ROLLED_BACK:
        state = "no rollouts yet" if latest is None else f"the last rollout is {latest.phase}"
        raise UsageError(f"nothing to retry: {state} (retry restarts a rolled-back rollout)")
    return latest.version


def status_json(status: Status | None) -> dict[str, Any]:
    """`rollout status --json` (phase, stable, canary, weights, step, events, …: docs/rollouts.md)."""
    if status is None:
        return {"phase": None, "stable": None, "canary": None, "weights": {}, "step": None, "events": []}
    return status.to_json()
