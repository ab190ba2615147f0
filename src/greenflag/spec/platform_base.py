"""What every `platform:` kind shares: the keys of the base, and commands as argument lists with placeholders.

A platform command (`deploy`, `launch`, `stop`, `status`) is an argument list: a YAML list as written, or a string
split the way a POSIX shell would split it (`shlex`), at load time. Placeholders (`{version}`, `{slot}`, …) are
checked at load — each command names only the ones its kind gives it — and substituted into the split arguments
when the command runs (`greenflag.platform.template`), so a value is always exactly one argument.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from greenflag.spec.base import Duration, Model, split_command

__all__ = ["PLACEHOLDERS", "ArgvCommand", "PlatformBase", "check_placeholders", "key_error", "split_command"]

# Every placeholder a platform command can name, and the environment variable that also carries its value.
PLACEHOLDERS = {
    "port": "GREENFLAG_PORT",
    "version": "GREENFLAG_VERSION",
    "service": "GREENFLAG_SERVICE",
    "instance": "GREENFLAG_INSTANCE",
    "slot": "GREENFLAG_SLOT",
    "address": "GREENFLAG_ADDRESS",
}

_BRACED = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")


ArgvCommand = Annotated[list[str], BeforeValidator(split_command), Field(min_length=1)]


def check_placeholders(argv: list[str], known: tuple[str, ...]) -> list[str]:
    """`argv` unchanged, or ValueError naming a placeholder this command does not get (a typo like `{verison}`)."""
    unknown = sorted({name for arg in argv for name in _BRACED.findall(arg) if name not in known})
    if unknown:
        names = ", ".join(f"{{{name}}}" for name in known)
        raise ValueError(f"unknown placeholder {', '.join(f'{{{n}}}' for n in unknown)}; known: {names}")
    return argv


def key_error(model: str, key: str, message: str, value: Any = None) -> ValidationError:
    """A validation error located at `key` (the loader reports it as `platform.KEY: message`)."""
    error = InitErrorDetails(
        type=PydanticCustomError("platform_key", "{message}", {"message": message}), loc=(key,), input=value
    )
    return ValidationError.from_exception_data(model, [error])


class PlatformBase(Model):
    """Keys every platform kind understands."""

    instances: int = Field(1, ge=1, le=64)  # instances of each version
    env: dict[str, str] = Field(default_factory=dict)  # added to the environment of what the platform runs
    stop_grace: Duration = 10.0  # how long a stopping instance may take to finish its requests
    start_timeout: Duration = 60.0  # from the first launch until the readiness gate passes
    max_restarts: int = Field(3, ge=0)  # failed starts before ready that are retried; one more rolls back

    def summary(self) -> str:
        """One line for humans (runbooks, `rollout status`): what runs the versions."""
        return ""
