"""`migrations:` — the database migration a release carries: `up`, `down`, an optional `check`, and the
expand/contract guard (the stable version's smoke checks, run against the migrated schema before any traffic
moves to the new version).

Commands are split into an argument list when the file is loaded (as a shell would split them, with `shlex`) and
run without a shell; nothing is ever pasted into them. Values reach them through the environment only
(`GREENFLAG_VERSION`, `GREENFLAG_STABLE`, … and `migrations.env`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from greenflag.spec.base import Duration, Model, split_command
from greenflag.spec.health import ProbeSpec

__all__ = ["Argv", "CommandSpec", "GuardSpec", "MigrationsSpec", "to_argv"]


def to_argv(value: Any) -> Any:
    """A command as an argument list: a string is split like a shell would (quotes, backslashes), a list is
    taken as it is. Raises ValueError for an empty command or unbalanced quotes."""
    if not isinstance(value, str) and not (isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)):
        raise ValueError("expected a command: a string such as 'alembic upgrade head', or a list of arguments")
    argv = split_command(value)
    if not argv[0]:
        raise ValueError("the command is empty")
    return tuple(argv)


Argv = Annotated[tuple[str, ...], BeforeValidator(to_argv)]


class CommandSpec(Model):
    run: Argv
    timeout: Duration | None = None  # default: migrations.timeout


def _command(value: Any) -> Any:
    """`up: COMMAND` is `up: {run: COMMAND}`; a command that cannot be split is an error at `up` itself."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str | list | tuple):
        return {"run": to_argv(value)}
    raise ValueError("expected a command (a string or a list of arguments) or {run: COMMAND, timeout: DURATION}")


Command = Annotated[CommandSpec, BeforeValidator(_command)]


class GuardSpec(Model):
    """The stable version's smoke checks: probes of every stable instance (`http`, `tcp`, or `exec` with
    `{target}`), each with the gate semantics of health checks (thresholds, interval)."""

    checks: list[ProbeSpec] = Field(min_length=1)
    baseline: bool = True  # run the checks before `up` too: a check that fails already blames nothing on the migration
    timeout: Duration = 60.0  # a guard that has neither passed nor failed by then refuses the release


class MigrationsSpec(Model):
    up: Command
    down: Command
    check: Command | None = None
    timeout: Duration = 600.0
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None  # relative to greenflag.yaml's directory (default: that directory)
    guard: GuardSpec | None = None

    def timeout_of(self, command: CommandSpec) -> float:
        return command.timeout if command.timeout is not None else self.timeout
