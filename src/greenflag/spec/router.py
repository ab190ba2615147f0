"""`router:` — which router steers the traffic and how greenflag reaches it."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from greenflag.spec.base import Duration, Model, Size
from greenflag.units import parse_host_port

__all__ = ["RouterSpec"]


def _network(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() not in ("private", "loopback"):
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValueError("expected an address, a network such as 10.0.0.0/8, 'private' or 'loopback'") from None
    return value


class RouterSpec(Model):
    kind: Literal["embedded", "haproxy", "nginx", "alb", "kubernetes"] = "embedded"
    listen: str = "127.0.0.1:8000"
    admin: str = "127.0.0.1:8001"
    admin_token_file: str = ".greenflag/token"
    backends: dict[str, str] = Field(default_factory=dict)
    weights: dict[str, int] = Field(default_factory=dict)
    sticky: bool = False
    route_header: str = "X-Greenflag-Route"
    drain_timeout: Duration = 30.0
    connect_timeout: Duration = 2.0
    header_timeout: Duration = 10.0
    max_body_size: Size = 100 * 1024 * 1024  # request bodies beyond it get 413; 0: no limit
    # Backends the admin API may add beyond loopback and those configured at start (never link-local/metadata).
    allow_backends: list[Annotated[str, BeforeValidator(_network)]] = Field(default_factory=list)
    # Driver-specific settings (haproxy socket, nginx paths, ALB listener ARN, ...) for later drivers.
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("listen", "admin")
    @classmethod
    def _address(cls, value: str) -> str:
        parse_host_port(value)  # ValueError: "… is not HOST:PORT with a port from 0 to 65535"
        return value
