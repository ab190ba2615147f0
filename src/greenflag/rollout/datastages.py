"""The data stages of the step machine (pure): migrations, the expand/contract guard, cache invalidation.

Where they sit in the plan (`rollout/plan.py`, each only when configured):

    … → after_install → migration_baseline → migrate_up → migration_guard → migration_check → test_traffic → …
    … → promote → cdn_promote → scale_down → done
    rolling back: cdn_rollback → migrate_down → migration_check_down → on_rollback → scale_down_canary → done

- `migrate_up` runs after the new version is installed and ready, before any traffic (test traffic included) can
  reach it; `migration_check` verifies it (after the guard, which protects the traffic the stable version is
  serving on the new schema meanwhile). Either failing rolls back.
- The guard (`migration_baseline` before `up`, `migration_guard` after it) runs the stable version's checks on
  its instances: the stable keeps serving on the migrated schema during the canary, so a migration it cannot live
  with (the classic "dropped a column the old code still reads") is refused before any traffic moves. A guard
  that neither passes nor fails within `guard.timeout` refuses too.
- Rolling back, the data stages wait until the router's read-back shows no traffic on the version rolled back
  (journaled as `traffic_back_on_stable`; at most TRAFFIC_CONFIRM_S when the router does not confirm).
  `migrate_down` runs when `up` was ever started — whatever its outcome, since a failed `up` may have applied
  part of its work — once `up` has ended.
  A failing `down` or check is an event; the rollback goes on.
- `cdn_promote` and `cdn_rollback` invalidate the caches `cdn.delay` after the traffic moved; a failed
  invalidation is an event (`cdn_failed`) and never moves traffic. `cdn_rollback` is skipped when no traffic
  ever reached the version rolled back.

The state of each data stage is journaled in `Status.data_steps` (from `Observations.data_steps`: migrations from
the journal's hooks table, the guard and invalidations from the controller), and once final it never changes.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from greenflag.rollout.actions import Invalidate, RunGuard, RunMigration
from greenflag.rollout.context import Ctx, fail
from greenflag.rollout.model import HookOutcome, HookState, version_weights
from greenflag.spec import MigrationsSpec

__all__ = ["DATA_STAGES", "MIGRATION_KEYS", "TRAFFIC_BACK", "TRAFFIC_CONFIRM_S", "migration_action", "observe_data"]
__pure__ = True

TRAFFIC_CONFIRM_S = 10.0
TRAFFIC_BACK = "traffic_back_on_stable"  # journaled in data_steps once the router confirmed it (rolling back)
# migration stage → (command, the command a check verifies)
MIGRATION_KEYS: dict[str, tuple[str, str | None]] = {
    "migrate_up": ("up", None),
    "migration_check": ("check", "up"),
    "migrate_down": ("down", None),
    "migration_check_down": ("check", "down"),
}
_KINDS = {"migration_baseline": "guard", "migration_guard": "guard", "cdn_promote": "cdn", "cdn_rollback": "cdn"}


def migration_action(spec: MigrationsSpec, key: str) -> RunMigration | None:
    """The action of a migration stage (None: the stage has no command, e.g. no check configured)."""
    name, after = MIGRATION_KEYS[key]
    command = getattr(spec, name)
    if command is None:
        return None
    return RunMigration(key, name, tuple(command.run), spec.timeout_of(command), after)


def observe_data(ctx: Ctx) -> None:
    """Journal what the data runners report; a final state is kept as it is."""
    s = ctx.s
    for key, state in sorted(ctx.obs.data_steps.items()):
        known = s.data_steps.get(key)
        if known == state or (known is not None and known.outcome is not HookOutcome.STARTED):
            continue
        s.data_steps[key] = state
        kind = _KINDS.get(key, "migration")
        if state.outcome is HookOutcome.STARTED:
            if kind == "migration":
                ctx.event(kind, f"{key} started")
            continue
        if kind == "cdn" and state.outcome is not HookOutcome.OK:
            kind = "cdn_failed"
        ctx.event(kind, f"{key} {state.outcome}{': ' + state.detail if state.detail else ''}")


def _command(ctx: Ctx, key: str, *, fatal: bool) -> bool:
    """Run one migration command once; True when it has ended (a failure rolls back when `fatal`)."""
    migrations = ctx.spec.migrations
    assert migrations is not None
    action = migration_action(migrations, key)
    state = ctx.s.data_steps.get(key)
    if action is None:
        return True
    if state is None:
        ctx.actions.append(action)  # asked again each tick until the journal has it (starting is idempotent)
        return False
    if state.outcome is HookOutcome.STARTED:
        return False
    if state.outcome is not HookOutcome.OK and fatal:
        what = f"migration {action.command}" + (f" after {action.after}" if action.after else "")
        message = f"{what} ({shlex.join(action.argv)}) {state.outcome}: {state.detail}"
        fail(ctx, message, trigger=key, value=state.detail, limit="exit status 0")
        return False
    return True


def _stage_up(ctx: Ctx) -> bool:
    return _command(ctx, "migrate_up", fatal=True)


def _stage_check(ctx: Ctx) -> bool:
    return _command(ctx, "migration_check", fatal=True)


def _guard(ctx: Ctx, key: str) -> bool:
    s, migrations = ctx.s, ctx.spec.migrations
    assert migrations is not None and migrations.guard is not None and s.stable is not None
    state = s.data_steps.get(key)
    if state is not None and state.outcome is HookOutcome.OK:
        return True
    if state is not None and state.outcome is HookOutcome.FAILED:
        check = state.detail.partition(" failed on ")[0] if " failed on " in state.detail else key
        if key == "migration_baseline":
            message = f"the expand/contract guard: {s.stable} fails its checks before the migration, so the migration "
            message += f"was not run: {state.detail}"
        else:
            message = f"the expand/contract guard: {s.stable} breaks on the migrated schema: {state.detail}"
        fail(ctx, message, trigger=f"guard {check}", value=state.detail, limit=f"passes on {s.stable}")
        return False
    limit = migrations.guard.timeout
    if ctx.now - s.stage_started_at > limit:
        detail = f"its checks of {s.stable} neither passed nor failed within {limit:g}s (migrations.guard.timeout)"
        fail(ctx, f"the expand/contract guard: {detail}", trigger=key, value="undecided", limit=f"timeout {limit:g}s")
        return False
    ctx.actions.append(RunGuard(key, s.stable))
    return False


def _stage_baseline(ctx: Ctx) -> bool:
    return _guard(ctx, "migration_baseline")


def _stage_guard(ctx: Ctx) -> bool:
    return _guard(ctx, "migration_guard")


def _traffic_back(ctx: Ctx) -> bool:
    """Rolling back: the router's latest read-back (taken after every weight change) shows no weight on the version
    rolled back. Journaled once seen (`traffic_back_on_stable`); after TRAFFIC_CONFIRM_S without it, go on."""
    s = ctx.s
    if TRAFFIC_BACK in s.data_steps:
        return True
    if s.router_weights is not None:
        versions = sorted({s.version, *([s.stable] if s.stable else []), *s.backends})
        held = version_weights(s.router_weights, versions)
        if held.get(s.version, 0) == 0:
            shown = ", ".join(f"{name} {weight}" for name, weight in sorted(held.items()))
            s.data_steps[TRAFFIC_BACK] = HookState(HookOutcome.OK, f"the router holds {shown or 'nothing'}")
            return True
    if ctx.now - s.stage_started_at >= TRAFFIC_CONFIRM_S:
        detail = f"the router did not confirm within {TRAFFIC_CONFIRM_S:g}s that {s.version} has no traffic"
        s.data_steps[TRAFFIC_BACK] = HookState(HookOutcome.FAILED, detail)
        ctx.event("router", f"{detail}; going on with the rollback")
        return True
    return False


def _stage_down(ctx: Ctx) -> bool:
    s = ctx.s
    up = s.data_steps.get("migrate_up")
    if up is None:
        return True  # `up` never started: nothing to undo
    if not _traffic_back(ctx) or up.outcome is HookOutcome.STARTED:
        return False  # down waits for the traffic to be on stable, and for `up` to end
    done = _command(ctx, "migrate_down", fatal=False)
    if done and s.data_steps.get("migrate_down", HookState(HookOutcome.OK)).outcome is not HookOutcome.OK:
        ctx.event("migration", "migrate_down did not succeed: the schema may not be restored (see its output in "
                  "the journal)")  # fmt: skip
    return done


def _stage_check_down(ctx: Ctx) -> bool:
    if "migrate_down" not in ctx.s.data_steps:
        return True
    return _command(ctx, "migration_check_down", fatal=False)


def _cdn(ctx: Ctx, key: str) -> bool:
    s, cdn = ctx.s, ctx.spec.cdn
    assert cdn is not None
    state = s.data_steps.get(key)
    if state is not None and state.outcome is not HookOutcome.STARTED:
        return True
    if key == "cdn_rollback":
        if s.version not in s.backends:
            ctx.event("cdn", f"cdn_rollback skipped: no traffic reached {s.version}")
            s.data_steps[key] = HookState(HookOutcome.OK, "skipped: no traffic reached the version")
            return True
        if not _traffic_back(ctx):
            return False
    if ctx.now < s.stage_started_at + cdn.delay:
        return False
    ctx.actions.append(Invalidate(key))
    return False


def _stage_cdn_promote(ctx: Ctx) -> bool:
    return _cdn(ctx, "cdn_promote")


def _stage_cdn_rollback(ctx: Ctx) -> bool:
    return _cdn(ctx, "cdn_rollback")


DATA_STAGES: dict[str, Callable[[Ctx], bool]] = {
    "migration_baseline": _stage_baseline,
    "migrate_up": _stage_up,
    "migration_check": _stage_check,
    "migration_guard": _stage_guard,
    "cdn_promote": _stage_cdn_promote,
    "cdn_rollback": _stage_cdn_rollback,
    "migrate_down": _stage_down,
    "migration_check_down": _stage_check_down,
}
