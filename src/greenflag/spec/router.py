"""`router:` — which router steers the traffic and how greenflag reaches it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from greenflag.spec.base import Duration, Model
from greenflag.units import parse_host_port

__all__ = ["RouterSpec"]


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
    # Driver-specific settings (haproxy socket, nginx paths, ALB listener ARN, ...) for later drivers.
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("listen", "admin")
    @classmethod
    def _address(cls, value: str) -> str:
        parse_host_port(value)  # ValueError: "… is not HOST:PORT with a port from 0 to 65535"
        return value
