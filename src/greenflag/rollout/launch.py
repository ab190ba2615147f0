"""The start-up stages of the step machine (pure): launch the version, then wait for its readiness gate.

A version must be ready within `platform.start_timeout` of its first launch. Instances that exit before that
are relaunched, `platform.max_restarts` times in all (counted over the version's instances); one more exit, or
the deadline, rolls back, and the rollback names the cause: the instance, its exit code and its last lines of
output. A launch the platform refuses outright (a command that cannot be executed) rolls back at once.
"""

from __future__ import annotations

from greenflag.rollout.actions import LaunchVersion, WaitReady
from greenflag.rollout.context import Ctx, fail

__all__ = ["note_exits", "stage_launch", "stage_ready"]
__pure__ = True


def note_exits(ctx: Ctx) -> None:
    """Journal the exits of the version under test; before it is ready they count against max_restarts."""
    s = ctx.s
    if s.aborted or s.terminal:
        return
    budget = ctx.spec.platform.max_restarts
    for exit_ in ctx.obs.exits:
        if exit_.version != s.version:
            continue
        s.last_exit = exit_.describe()
        starting = s.stage in ("launch", "ready")
        if starting:
            s.start_exits += 1
        where = f"exit {s.start_exits} of {budget + 1} allowed before ready" if starting else "after ready"
        code = exit_.returncode
        ctx.event("exited", f"{s.last_exit} ({where})", trigger=exit_.instance, value=code, limit=None)


def _starting_failed(ctx: Ctx) -> bool:
    """Roll back when the restart budget or the start deadline is spent (True: rolled back)."""
    s, platform = ctx.s, ctx.spec.platform
    cause = s.last_exit or "no exit status was seen"
    budget = platform.max_restarts
    if s.start_exits > budget:
        message = f"{s.version} cannot start: {cause} ({s.start_exits} exits, platform.max_restarts {budget})"
        fail(ctx, message, trigger="launch", value=cause, limit=f"max_restarts {budget}")
        return True
    started = s.launch_started_at if s.launch_started_at is not None else s.stage_started_at
    if ctx.now - started > platform.start_timeout:
        limit = f"start_timeout {platform.start_timeout:g}s"
        last = f"; last exit: {s.last_exit}" if s.last_exit else ""
        fail(ctx, f"{s.version} not ready within {limit}{last}", trigger="readiness", value="not ready", limit=limit)
        return True
    return False


def stage_launch(ctx: Ctx) -> bool:
    s = ctx.s
    if s.launch_started_at is None:
        s.launch_started_at = ctx.now
    if s.version in ctx.obs.launched:
        return True
    problem = ctx.obs.liveness_failures.get(s.version)
    if problem is not None:  # the platform could not start it at all
        fail(ctx, f"cannot launch {s.version}: {problem}", trigger="launch", value=problem, limit="started")
        return False
    if not _starting_failed(ctx):
        ctx.actions.append(LaunchVersion(s.version))
    return False


def stage_ready(ctx: Ctx) -> bool:
    s = ctx.s
    ready = ctx.obs.ready.get(s.version)
    if ready:
        ctx.event("ready", f"{s.version} passed its readiness gate")
        return True
    if ready is False:
        fail(ctx, f"{s.version} failed its readiness gate", trigger="readiness", value="failed", limit="ready")
    elif _starting_failed(ctx):
        pass
    elif s.version not in ctx.obs.launched:  # an instance exited: relaunch it (within max_restarts)
        problem = ctx.obs.liveness_failures.get(s.version)
        if problem is not None:
            fail(ctx, f"cannot launch {s.version}: {problem}", trigger="launch", value=problem, limit="started")
        else:
            ctx.actions.append(LaunchVersion(s.version))
    else:
        ctx.actions.append(WaitReady(s.version))
    return False
