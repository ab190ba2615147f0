"""Waiting for the router's drain time before a version is stopped (pure).

A router that keeps sending a backend's in-flight requests for a while after it lost its weight (an ALB target
group's deregistration delay) reports that time; the scale-down stages stop a version only when both their own delay
(`scale_down_delay`, `abort_scale_down_delay`) and the drain time have passed since the stage began (the moment the
version lost its traffic). An event says so once, when the drain time is the longer wait.
"""

from __future__ import annotations

from greenflag.rollout.model import Status

__all__ = ["drain_wait"]
__pure__ = True


def drain_wait(s: Status, drain_s: float, delay: float, version: str | None, now: float) -> tuple[bool, str | None]:
    """(still waiting, the message of a `draining` event to add, if any) for stopping `version` in `s`'s stage."""
    waiting = now - s.stage_started_at < max(delay, drain_s)
    said = any(e.kind == "draining" and e.time >= s.stage_started_at for e in s.events)
    if waiting and drain_s > delay and version not in (None, s.stable) and not said:
        return True, f"{version} is stopped in {drain_s:g}s (the router's drain time)"
    return waiting, None
