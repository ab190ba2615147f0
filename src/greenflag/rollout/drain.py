"""Waiting for a version's traffic to drain before it is stopped (pure).

A router that keeps sending a backend's in-flight requests for a while after it lost its weight (an ALB target
group's deregistration delay) reports that time; the scale-down stages stop a version only when both their own delay
(`scale_down_delay`, `abort_scale_down_delay`) and the drain time have passed since the stage began (the moment the
version lost its traffic). A router that counts the requests open on each backend (the embedded router, HAProxy)
says how many the version still has: it is stopped once none are left (as counted on a tick of the stage itself), or
`router.drain_timeout` after the stage began, whichever comes first (the router itself ends what is still open then).
An event says why it waits, once.
"""

from __future__ import annotations

from greenflag.rollout.model import Status

__all__ = ["drain_wait"]
__pure__ = True


def drain_wait(
    s: Status,
    drain_s: float,
    delay: float,
    version: str | None,
    now: float,
    open_requests: int | None = 0,
    limit: float = 0.0,
) -> tuple[bool, str | None]:
    """(still waiting, the message of a `draining` event to add, if any) for stopping `version` in `s`'s stage.

    `open_requests`: the requests the router has open on `version` (0 when it cannot count them; None when it can but
    was not asked this tick, before the stage began: one more tick to ask); `limit`: `router.drain_timeout`."""
    elapsed = now - s.stage_started_at
    leaving = version not in (None, s.stable)
    said = any(e.kind == "draining" and e.time >= s.stage_started_at for e in s.events)
    if elapsed < max(delay, drain_s):
        if drain_s > delay and leaving and not said:
            return True, f"{version} is stopped in {drain_s:g}s (the router's drain time)"
        return True, None
    if leaving and open_requests != 0 and elapsed < limit:  # None: not counted yet this stage, one tick more
        note = None if said or open_requests is None else (
            f"{version} is stopped when the router has no request open on it ({open_requests} now), at most "
            f"{limit:g}s after it lost its traffic (router.drain_timeout)"
        )  # fmt: skip
        return True, note
    return False, None
