"""The Platform seam: where a version runs (`launch`, `stop`, `instances`), and the record of a local instance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["ExitReporter", "Instance", "InstanceExit", "InstanceRecord", "Platform"]


@dataclass(frozen=True)
class Instance:
    version: str
    id: str  # stable across controller restarts (e.g. "v2-0")
    url: str  # base URL, e.g. http://127.0.0.1:41234
    pid: int | None = None


@dataclass(frozen=True)
class InstanceRecord:
    """A local instance as journaled by the platform that started it, so a restarted controller re-adopts it."""

    id: str
    service: str
    version: str
    url: str
    pid: int
    port: int
    started: float


@runtime_checkable
class Platform(Protocol):
    async def launch(self, version: str) -> list[Instance]:
        """Start the version's instances (idempotent: already-running instances are returned)."""
        ...

    async def stop(self, version: str, *, grace_s: float) -> None:
        """Stop a version's instances: SIGTERM, then SIGKILL after grace_s. Idempotent."""
        ...

    async def instances(self) -> list[Instance]: ...


@dataclass(frozen=True)
class InstanceExit:
    """An instance that was found gone without being stopped: its exit status and the end of its output."""

    version: str
    instance: str  # e.g. "v2-0"
    returncode: int | None  # None: unknown (a process a previous controller started); < 0: killed by that signal
    output: str = ""  # its last lines of output (stdout and stderr)

    def describe(self) -> str:
        """One line: `v2-0 exited with code 3; last output: config.yaml: no such file`."""
        code = self.returncode
        if code is None:
            how = "exited (status unknown)"
        elif code < 0:
            how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        tail = " / ".join(line.strip() for line in self.output.splitlines() if line.strip())
        return f"{self.instance} {how}" + (f"; last output: {tail}" if tail else "; no output")


@runtime_checkable
class ExitReporter(Protocol):
    """Optional capability: platforms that see their instances exit report each exit once."""

    def exits(self) -> list[InstanceExit]:
        """The exits seen since the last call (each reported once)."""
        ...
