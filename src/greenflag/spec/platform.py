"""`platform:` — where each version runs: one model per `kind` (`kind` absent means `process`).

- `process` (`PlatformSpec`): greenflag starts each instance as a local process from a command template.
- `slots`: long-lived environments (blue, green, …), each with an address; a `deploy` command installs a version
  onto the idle one.
- `command`: your own `launch` / `stop` / `status` commands drive any orchestrator; `launch` prints the address.
- `kubernetes` (`spec/platform_kube.py`): one Deployment (and Service) per version.

Keys every kind shares are in `PlatformBase`; a key of another kind is an error naming its path
(`platform.deploy: unknown key`).
"""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from greenflag.spec.base import Duration, Model, split_command
from greenflag.spec.platform_base import (
    PLACEHOLDERS,
    ArgvCommand,
    PlatformBase,
    check_placeholders,
    key_error,
)
from greenflag.spec.platform_kube import KubernetesPlatformSpec
from greenflag.units import parse_duration

__all__ = [
    "KINDS",
    "PLACEHOLDERS",
    "AnyPlatformSpec",
    "CommandPlatformSpec",
    "KubernetesPlatformSpec",
    "PlatformBase",
    "PlatformSpec",
    "SlotSpec",
    "SlotsPlatformSpec",
]

KINDS = ("process", "slots", "command", "kubernetes")
PROCESS_PLACEHOLDERS = ("port", "version", "service", "instance")
SLOT_PLACEHOLDERS = ("version", "slot", "address", "service")
LAUNCH_PLACEHOLDERS = ("version", "service", "instance")
STOP_PLACEHOLDERS = ("version", "service", "instance", "address")

_SLOT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_URL = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?(/[^\s]*)?")
_TARGET = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]{0,254}:[0-9]{1,5}")


class PlatformSpec(PlatformBase):
    """`kind: process` (the default): each instance is a local process started from `command`."""

    kind: Literal["process"] = "process"
    # required: the command that starts one instance, e.g. "./server --port {port} --release {version}"
    command: str
    cwd: str | None = None

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        """Splits (balanced quotes), names only known placeholders, and has {port} for the instance to listen on."""
        split_command(value)
        check_placeholders([value], PROCESS_PLACEHOLDERS)
        if "{port}" not in value:
            raise ValueError("must contain {port} (the port each instance listens on)")
        return value

    def summary(self) -> str:
        return f"{self.command} × {self.instances}"


def _url(value: str) -> str:
    if not isinstance(value, str) or not _URL.fullmatch(value):
        raise ValueError(f"{value!r}: expected http://HOST:PORT (or https://…), e.g. http://10.0.0.5:8080")
    return value.rstrip("/")


class SlotSpec(Model):
    """One long-lived environment: where it answers (`address`) and, for a load balancer that registers targets
    (router.kind alb), the targets that make it up."""

    address: str
    targets: list[str] = Field(default_factory=list)  # ID:PORT (IP or instance ID); default: the address's HOST:PORT

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return _url(value)

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        for target in value:
            if not _TARGET.fullmatch(target):
                raise ValueError(f"{target!r}: expected ID:PORT, e.g. 10.0.0.5:8080 or i-0abc123:8080")
        return value


def _start_after(data: Any, key: str, default: float) -> Any:
    """Without start_timeout: the command's own timeout and 5 minutes for the readiness gate."""
    if isinstance(data, dict) and "start_timeout" not in data:
        try:
            timeout = parse_duration(data[key]) if key in data else default
        except (TypeError, ValueError):
            return data  # the key's own error is reported
        return {**data, "start_timeout": timeout + 300.0}
    return data


def _room(spec: PlatformBase, timeout: float, key: str) -> None:
    """start_timeout (the whole start: command and readiness gate) must leave the command its own timeout."""
    if spec.start_timeout <= timeout:
        message = (f"{spec.start_timeout:g}s is not longer than {key} ({timeout:g}s): the release would roll back "
                   "before the command could finish; give it the command's time and the readiness gate's")  # fmt: skip
        raise key_error(type(spec).__name__, "start_timeout", message, spec.start_timeout)


def _slot_shorthand(value: Any) -> Any:
    return {"address": value} if isinstance(value, str) else value


class SlotsPlatformSpec(PlatformBase):
    """`kind: slots`: fixed environments (blue and green, or more); `deploy` installs a version onto an idle one."""

    kind: Literal["slots"]
    slots: dict[str, SlotSpec]  # name → address (or {address, targets}); at least two
    deploy: ArgvCommand
    stop: ArgvCommand | None = None
    deploy_timeout: Duration = 600.0
    stop_timeout: Duration = 120.0
    start_timeout: Duration = 900.0  # the deploy and the readiness gate, together (default: deploy_timeout + 5m)
    cwd: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _start_default(cls, data: Any) -> Any:
        return _start_after(data, "deploy_timeout", 600.0)

    @field_validator("slots", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {name: _slot_shorthand(slot) for name, slot in value.items()}
        return value

    @field_validator("slots")
    @classmethod
    def _two_slots(cls, value: dict[str, SlotSpec]) -> dict[str, SlotSpec]:
        for name in value:
            if not _SLOT.fullmatch(name):
                raise ValueError(f"{name!r}: slot names are letters, digits, '.', '_' or '-' (at most 64)")
        if len(value) < 2:
            raise ValueError("name at least two slots (one serves while a version is deployed onto the other)")
        addresses = [slot.address for slot in value.values()]
        if len(set(addresses)) != len(addresses):
            raise ValueError("two slots have the same address")
        return value

    @field_validator("deploy", "stop")
    @classmethod
    def _placeholders(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_placeholders(value, SLOT_PLACEHOLDERS)

    @model_validator(mode="after")
    def _one_instance(self) -> SlotsPlatformSpec:
        if self.instances != 1:
            message = "a slot is one instance (its address): put a slot's hosts behind one address"
            raise key_error(type(self).__name__, "instances", message, self.instances)
        _room(self, self.deploy_timeout, "deploy_timeout")
        return self

    def summary(self) -> str:
        return f"slots {', '.join(self.slots)}: {shlex.join(self.deploy)}"


class CommandPlatformSpec(PlatformBase):
    """`kind: command`: your commands launch an instance (printing its address), stop one, and list them."""

    kind: Literal["command"]
    launch: ArgvCommand
    stop: ArgvCommand
    status: ArgvCommand | None = None
    launch_timeout: Duration = 300.0
    stop_timeout: Duration = 120.0
    status_timeout: Duration = 30.0
    status_interval: Duration = 10.0  # how often `status` is asked which instances exist
    start_timeout: Duration = 600.0  # the launches and the readiness gate, together (default: launch_timeout + 5m)
    cwd: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _start_default(cls, data: Any) -> Any:
        return _start_after(data, "launch_timeout", 300.0)

    @field_validator("launch")
    @classmethod
    def _launch(cls, value: list[str]) -> list[str]:
        return check_placeholders(value, LAUNCH_PLACEHOLDERS)

    @field_validator("stop")
    @classmethod
    def _stop(cls, value: list[str]) -> list[str]:
        return check_placeholders(value, STOP_PLACEHOLDERS)

    @field_validator("status")
    @classmethod
    def _status(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_placeholders(value, ("service",))

    @model_validator(mode="after")
    def _timeouts(self) -> CommandPlatformSpec:
        _room(self, self.launch_timeout, "launch_timeout")
        return self

    def summary(self) -> str:
        return f"{shlex.join(self.launch)} × {self.instances}"


class _RefusedPlatform(PlatformBase):
    """What a spec naming an unknown kind validates against: one clear line."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str

    @field_validator("kind", mode="before")
    @classmethod
    def _refuse(cls, value: Any) -> Any:
        raise ValueError(f"{value!r} is not a platform kind; one of {', '.join(KINDS)}")


# Union tags start with a capital: the loader leaves such tags out of the key paths it reports.
_TAGS = {"process": "Process", "slots": "Slots", "command": "Command", "kubernetes": "Kubernetes"}


def _platform_kind(value: Any) -> str:
    kind = value.get("kind", "process") if isinstance(value, dict) else getattr(value, "kind", "process")
    return _TAGS[kind] if isinstance(kind, str) and kind in _TAGS else "Refused"


AnyPlatformSpec = Annotated[
    Annotated[PlatformSpec, Tag("Process")]
    | Annotated[SlotsPlatformSpec, Tag("Slots")]
    | Annotated[CommandPlatformSpec, Tag("Command")]
    | Annotated[KubernetesPlatformSpec, Tag("Kubernetes")]
    | Annotated[_RefusedPlatform, Tag("Refused")],
    Discriminator(_platform_kind),
]
