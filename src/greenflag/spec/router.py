"""`router:` — which router steers the traffic and how greenflag reaches it: one model per `kind`.

The keys of a kind sit directly under `router:`; `kind` absent means `embedded`. Keys every kind shares
(`route_header`, `drain_timeout`, `weights`) are in `RouterBase` (`router_base.py`); the cloud kinds' models are in
`router_cloud.py`. A kind without a driver yet has its model there, but a spec naming it is refused
(`router.kind: ... not available yet`) until its driver is added to `AVAILABLE_KINDS`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from greenflag.spec.base import Duration, Size
from greenflag.spec.router_base import Command, RouterBase, SlotName, check_servers, network, weights_named
from greenflag.spec.router_cloud import AlbRouterSpec, KubernetesRouterSpec
from greenflag.units import parse_host_port

__all__ = [
    "AVAILABLE_KINDS",
    "KINDS",
    "AlbRouterSpec",
    "AnyRouterSpec",
    "Command",
    "HAProxyRouterSpec",
    "KubernetesRouterSpec",
    "NginxRouterSpec",
    "RouterBase",
    "RouterSpec",
    "SlotName",
]

KINDS = ("embedded", "haproxy", "nginx", "alb", "kubernetes")
AVAILABLE_KINDS = frozenset({"embedded", "haproxy", "nginx", "alb", "kubernetes"})

_IDENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$")  # HAProxy backend/server and nginx upstream names
_PATH = re.compile(r"[A-Za-z0-9_./@+-]+")  # paths that go into haproxy.cfg or a Runtime API command
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")


class RouterSpec(RouterBase):
    """`kind: embedded` (the default): greenflag's own router."""

    kind: Literal["embedded"] = "embedded"
    listen: str = "127.0.0.1:8000"
    admin: str = "127.0.0.1:8001"
    admin_token_file: str = ".greenflag/token"
    backends: dict[str, str] = Field(default_factory=dict)
    sticky: bool = False
    connect_timeout: Duration = 2.0
    header_timeout: Duration = 10.0
    max_body_size: Size = 100 * 1024 * 1024  # request bodies beyond it get 413; 0: no limit
    # Backends the admin API may add beyond loopback and those configured at start (never link-local/metadata).
    allow_backends: list[Annotated[str, BeforeValidator(network)]] = Field(default_factory=list)

    @field_validator("listen", "admin")
    @classmethod
    def _address(cls, value: str) -> str:
        parse_host_port(value)  # ValueError: "… is not HOST:PORT with a port from 0 to 65535"
        return value

    def public_url(self) -> str | None:
        return f"http://{self.listen}"


class HAProxyRouterSpec(RouterBase):
    """`kind: haproxy`: HAProxy steered through its Runtime API. `servers` maps greenflag's backend names (the
    slots, e.g. blue and green) to the servers of `backend` in haproxy.cfg."""

    kind: Literal["haproxy"]
    times_requests: ClassVar[bool] = False  # HAProxy keeps counters per server, no latency histogram
    socket: str  # the Runtime API: a unix socket path, or HOST:PORT of a `stats socket ipv4@...` listener
    backend: str
    servers: dict[str, str]
    route_map: str | None = None  # the map file haproxy.cfg's use-server rules read (header routes); optional
    listen: str | None = None  # where clients reach HAProxy (HOST:PORT), for hooks and `router haproxy-config`
    timeout: Duration = 5.0  # one Runtime API call

    @field_validator("socket")
    @classmethod
    def _socket(cls, value: str) -> str:
        if not (value.startswith(("/", ".")) and _PATH.fullmatch(value)) and not _HOST_PORT.fullmatch(value):
            raise ValueError("expected a unix socket path (/run/haproxy/admin.sock) or HOST:PORT")
        return value

    @field_validator("route_map")
    @classmethod
    def _map_path(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith("/") and _PATH.fullmatch(value)):
            raise ValueError("expected an absolute path of letters, digits and / . _ - (it goes into haproxy.cfg)")
        return value

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        if not _IDENT.fullmatch(value):
            raise ValueError("expected an HAProxy backend name (letters, digits, '_', '.', ':', '-')")
        return value

    @field_validator("servers")
    @classmethod
    def _server_names(cls, value: dict[str, str]) -> dict[str, str]:
        for server in value.values():
            if not _IDENT.fullmatch(server):
                raise ValueError(f"{server!r}: expected an HAProxy server name (letters, digits, '_', '.', ':', '-')")
        return check_servers(value, "server")

    @model_validator(mode="after")
    def _known_weights(self) -> HAProxyRouterSpec:
        weights_named(self, self.servers, "servers")
        return self

    def public_url(self) -> str | None:
        return None if self.listen is None else f"http://{self.listen}"


class NginxRouterSpec(RouterBase):
    """`kind: nginx`: greenflag renders the weighted `upstream` into its own file, tests and reloads nginx.
    `servers` maps greenflag's backend names (the slots) to their first HOST:PORT; a version launched elsewhere
    is pointed at a slot by rewriting the file."""

    kind: Literal["nginx"]
    upstream_file: str
    upstream: str = Field(pattern=r"^[A-Za-z0-9_]{1,48}$")
    servers: dict[str, str]
    status_url: str  # answers the generation of the live upstream file (read-back); see `router nginx-config`
    reload: Command = Field(default_factory=lambda: ["nginx", "-s", "reload"])
    test: Command = Field(default_factory=lambda: ["nginx", "-t"])
    access_log: str | None = None  # the JSON access log greenflag reads per-backend stats from
    pid_file: str | None = None  # nginx's pid file (same host): a reload counts once the old workers stop accepting
    keepalive: int = Field(16, ge=0, le=10_000)  # idle upstream connections each worker keeps (0: none)
    listen: str | None = None
    timeout: Duration = 10.0  # test + reload + confirmation

    @field_validator("servers")
    @classmethod
    def _addresses(cls, value: dict[str, str]) -> dict[str, str]:
        for address in value.values():
            if not _HOST_PORT.fullmatch(address):
                raise ValueError(f"{address!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
        return check_servers(value, "address")

    @field_validator("status_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"^http://[^/\s]+(/\S*)?$", value):
            raise ValueError("expected an http:// URL, e.g. http://127.0.0.1:8080/greenflag/status")
        return value

    @model_validator(mode="after")
    def _known_weights(self) -> NginxRouterSpec:
        weights_named(self, self.servers, "servers")
        return self

    def public_url(self) -> str | None:
        return None if self.listen is None else f"http://{self.listen}"


class _RefusedKind(RouterBase):
    """What a spec naming an unknown kind, or one without a driver yet, validates against: one clear line."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str

    @field_validator("kind", mode="before")
    @classmethod
    def _refuse(cls, value: Any) -> Any:
        if value in KINDS:
            raise ValueError(f"{value!r} is not available yet (available: {', '.join(sorted(AVAILABLE_KINDS))})")
        raise ValueError(f"{value!r} is not a router kind; one of {', '.join(KINDS)}")


# Union tags start with a capital: the loader leaves such tags out of the key paths it reports.
_TAGS = {"embedded": "Embedded", "haproxy": "HAProxy", "nginx": "Nginx", "alb": "Alb", "kubernetes": "Kubernetes"}


def _router_kind(value: Any) -> str:
    kind = value.get("kind", "embedded") if isinstance(value, dict) else getattr(value, "kind", "embedded")
    return _TAGS[kind] if isinstance(kind, str) and kind in AVAILABLE_KINDS else "Refused"


AnyRouterSpec = Annotated[
    Annotated[RouterSpec, Tag("Embedded")]
    | Annotated[HAProxyRouterSpec, Tag("HAProxy")]
    | Annotated[NginxRouterSpec, Tag("Nginx")]
    | Annotated[AlbRouterSpec, Tag("Alb")]
    | Annotated[KubernetesRouterSpec, Tag("Kubernetes")]
    | Annotated[_RefusedKind, Tag("Refused")],
    Discriminator(_router_kind),
]
