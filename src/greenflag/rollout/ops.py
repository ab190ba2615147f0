"""Rollout operations shared by the `up` API and the CLI's direct-journal mode."""

from __future__ import annotations

from typing import Any

from greenflag.errors import UsageError
from greenflag.rollout.model import Phase, Status, version_weights
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


def status_json(status: Status | None, read_back: dict[str, int] | None = None) -> dict[str, Any]:
    """`rollout status --json`: phase, stable, canary, weights, step, events, … (docs/rollouts.md).

    `weights` are the ones the router holds: `read_back` (read from the router just now), else the controller's
    last read-back from the journal, else (never read back) the intended ones — `weights_source` says which
    (`router`, `journal`, `intended`). `intended_weights` are what the rollout asks for; when the two differ,
    `weights_differ` is true and `weights_note` says so."""
    if status is None:
        return {"phase": None, "stable": None, "canary": None, "weights": {}, "step": None, "events": []}
    data = status.to_json()
    versions = sorted({status.version, *([status.stable] if status.stable else []), *status.backends})
    if read_back is not None:
        held, source = version_weights(read_back, versions), "router"
    elif status.router_weights is not None:
        held, source = version_weights(status.router_weights, versions), "journal"
    else:
        held, source = dict(status.weights), "intended"
    intended = dict(status.weights)
    data.update(weights=held, intended_weights=intended, weights_source=source)
    if source == "journal":
        data["weights_read_at"] = data["router_weights_at"]
    differ = {k: v for k, v in held.items() if v} != {k: v for k, v in intended.items() if v}
    data["weights_differ"] = differ
    if differ:
        data["weights_note"] = f"the router holds {_show(held)} but the rollout intends {_show(intended)}"
    return data


def _show(weights: dict[str, int]) -> str:
    return ", ".join(f"{name} {weight}" for name, weight in sorted(weights.items())) or "nothing"
