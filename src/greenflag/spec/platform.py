"""`platform:` — where each version runs (the process platform: local processes from a command template)."""

from __future__ import annotations

import re
import shlex
from typing import Literal

from pydantic import Field, field_validator

from greenflag.spec.base import Duration, Model

__all__ = ["PLACEHOLDERS", "PlatformSpec"]

# The placeholders of platform.command and the environment variable each one is also given as.
PLACEHOLDERS = {
    "port": "GREENFLAG_PORT",
    "version": "GREENFLAG_VERSION",
    "service": "GREENFLAG_SERVICE",
    "instance": "GREENFLAG_INSTANCE",
}


_BRACED = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PlatformSpec(Model):
    kind: Literal["process"] = "process"
    # required: the command that starts one instance, e.g. "./server --port {port} --release {version}"
    command: str
    instances: int = Field(1, ge=1, le=64)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    stop_grace: Duration = 10.0
    start_timeout: Duration = 60.0  # from the first launch until the readiness gate passes
    max_restarts: int = Field(3, ge=0)  # exits before ready that are relaunched; one more rolls back

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        """Splits (balanced quotes), names only known placeholders, and has {port} for the instance to listen on."""
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"{value!r}: {str(exc).lower()} (quote arguments as a shell would)") from None
        if not argv:
            raise ValueError("the command is empty")
        unknown = sorted({name for name in _BRACED.findall(value) if name not in PLACEHOLDERS})
        if unknown:
            known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
            raise ValueError(f"unknown placeholder {', '.join(f'{{{n}}}' for n in unknown)}; known: {known}")
        if "{port}" not in value:
            raise ValueError("must contain {port} (the port each instance listens on)")
        return value
