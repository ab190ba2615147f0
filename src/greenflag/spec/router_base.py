"""What every `router:` kind shares: the keys of `RouterBase`, and the syntax of backend names, networks and
commands that the kinds' models (`greenflag.spec.router`, `greenflag.spec.router_cloud`) check."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from greenflag.spec.base import Duration, Model, split_command

__all__ = ["HTTP_URL", "SLOT", "Command", "RouterBase", "SlotName", "check_servers", "network", "weights_named"]

SLOT = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"  # greenflag backend names (versions and slots) share one syntax
HTTP_URL = re.compile(r"https?://[^/\s]+(/\S*)?")

SlotName = Annotated[str, Field(pattern=SLOT)]


def network(value: Any) -> Any:
    """An entry of the embedded router's `allow_backends`: an address, a network, `private` or `loopback`."""
    if isinstance(value, str) and value.strip().lower() not in ("private", "loopback"):
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValueError("expected an address, a network such as 10.0.0.0/8, 'private' or 'loopback'") from None
    return value


Command = Annotated[list[str], BeforeValidator(split_command), Field(min_length=1)]


class RouterBase(Model):
    """Keys every router kind understands."""

    # whether the router's per-backend stats time each request (HDR latency histograms): the built-in latency
    # rule judges only those
    times_requests: ClassVar[bool] = True

    route_header: str = Field("X-Greenflag-Route", pattern=r"^[A-Za-z0-9-]{1,64}$")
    drain_timeout: Duration = 30.0  # a backend taken out keeps its open requests this long
    weights: dict[str, int] = Field(default_factory=dict)  # the default split (reset without a stable)

    def public_url(self) -> str | None:
        """Where clients reach the router (http://HOST:PORT), when the spec says."""
        return None

    def test_traffic_url(self) -> str | None:
        """Where test traffic reaches the version under test (with the route header): the router's URL, or a
        router's own test listener."""
        return self.public_url()

    @field_validator("weights")
    @classmethod
    def _non_negative(cls, value: dict[str, int]) -> dict[str, int]:
        for name, weight in value.items():
            if weight < 0:
                raise ValueError(f"weight of {name!r} must be a non-negative integer")
        return value


def check_servers(value: dict[str, str], what: str) -> dict[str, str]:
    if not value:
        raise ValueError(f"name at least one {what}, e.g. {{blue: ..., green: ...}}")
    for name in value:
        if not re.fullmatch(SLOT, name):
            raise ValueError(f"{name!r}: backend names are letters, digits, '.', '_' or '-' (at most 64)")
    if len(set(value.values())) != len(value):
        raise ValueError(f"two backends name the same {what}")
    return value


def weights_named(spec: RouterBase, known: dict[str, str], key: str) -> None:
    """Every name in the spec's `weights` is one of `known` (its `key`); the error's key path is router.weights.NAME."""
    names = ", ".join(known)
    errors = [
        InitErrorDetails(
            type=PydanticCustomError("unknown_backend", f"not one of {key} ({{known}})", {"known": names}),
            loc=("weights", name),
            input=weight,
        )
        for name, weight in spec.weights.items()
        if name not in known
    ]
    if errors:
        raise ValidationError.from_exception_data(type(spec).__name__, errors)
