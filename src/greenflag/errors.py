"""The exception hierarchy and the exit codes every command maps to (README.md, "Exit codes")."""

from __future__ import annotations

import enum

__all__ = [
    "ConfigError",
    "DrillFailed",
    "ExitCode",
    "GreenflagError",
    "ReadinessFailed",
    "RolloutAborted",
    "ThresholdsCrossed",
    "UsageError",
]


class ExitCode(enum.IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    ROLLED_BACK = 3
    READINESS_FAILED = 4
    DRILL_FAILED = 5
    THRESHOLDS_CROSSED = 99


class GreenflagError(Exception):
    """An expected failure: the CLI prints its message (no traceback) and exits with `exit_code`."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(GreenflagError):
    """Bad command-line input. The message names the option and what is expected."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """Bad configuration. The message names the file, the key path (and line) and what is expected."""

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        text = message if not self.problems else message + "\n" + "\n".join(f"  {p}" for p in self.problems)
        super().__init__(text)


class ThresholdsCrossed(GreenflagError):
    exit_code = ExitCode.THRESHOLDS_CROSSED


class RolloutAborted(GreenflagError):
    exit_code = ExitCode.ROLLED_BACK


class ReadinessFailed(GreenflagError):
    exit_code = ExitCode.READINESS_FAILED


class DrillFailed(GreenflagError):
    exit_code = ExitCode.DRILL_FAILED
