"""`platform:` — where each version runs (the process platform: local processes from a command template)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from greenflag.spec.base import Duration, Model

__all__ = ["PLACEHOLDERS", "PlatformSpec"]

# The placeholders of platform.command and the environment variable each one is also given as.
PLACEHOLDERS = {
    "port": "GREENFLAG_PORT",
    "version": "GREENFLAG_VERSION",
    "service": "GREENFLAG_SERVICE",
    "instance": "GREENFLAG_INSTANCE",
}


class PlatformSpec(Model):
    kind: Literal["process"] = "process"
    command: str = "greenflag demo-app --port {port} --version {version}"
    instances: int = Field(1, ge=1, le=64)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    stop_grace: Duration = 10.0
    start_timeout: Duration = 60.0  # from the first launch until the readiness gate passes
    max_restarts: int = Field(3, ge=0)  # exits before ready that are relaunched; one more rolls back
