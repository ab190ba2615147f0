"""The Platform seam: where a version runs (`launch`, `stop`, `instances`), and the record of a local instance.

`launch` may finish later than it returns: a platform that deploys (slots), runs your command (command) or waits
for an orchestrator (kubernetes) starts the work and returns the instances that are up so far; the controller calls
it again on every tick until `instances()` lists the version's instances (it is idempotent), and a start that
failed is reported by `exits()` with its cause. Platforms that keep state beyond their instances' processes
journal it through `RecordJournal` (the rollout journal implements it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "ExitReporter",
    "Instance",
    "InstanceExit",
    "InstanceRecord",
    "Platform",
    "PlatformError",
    "ReadinessSource",
    "RecordJournal",
]


class PlatformError(RuntimeError):
    """A platform command or API call failed; the message names it, its exit status and its last output."""


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
    how: str | None = None  # what happened, when not an exit status: "timed out after 600s", "was deleted"

    def describe(self) -> str:
        """One line: `v2-0 exited with code 3; last output: config.yaml: no such file`."""
        code = self.returncode
        if self.how is not None:
            how = self.how
        elif code is None:
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


@runtime_checkable
class RecordJournal(Protocol):
    """Where a platform journals what it must remember across controller restarts (which slot holds which version,
    the deploy in progress, the instances a launch command reported): JSON objects by key, per service."""

    def platform_records(self, service: str) -> dict[str, dict[str, Any]]: ...
    def put_platform_record(self, service: str, key: str, value: dict[str, Any]) -> None: ...
    def drop_platform_record(self, service: str, key: str) -> None: ...


@runtime_checkable
class ReadinessSource(Protocol):
    """Optional capability: a platform that lists a version's instances only once its orchestrator found them ready
    by their own probes (a Deployment's available replicas), and stops listing them when they are not. Without
    `health.readiness` (`health.liveness`) the controller takes that as the gate and probes nothing itself: it may
    not reach the instances' addresses at all (a Service inside a cluster)."""

    def readiness_source(self) -> str:
        """What decides readiness, for humans: "the Deployment's status"."""
        ...
