"""`router:` — which router steers the traffic and how greenflag reaches it: one model per `kind`.

The keys of a kind sit directly under `router:`; `kind` absent means `embedded`. Keys every kind shares
(`route_header`, `drain_timeout`, `weights`) are in `RouterBase`. A kind without a driver yet has its model here,
but a spec naming it is refused (`router.kind: ... not available yet`) until its driver is added to
`AVAILABLE_KINDS`.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from greenflag.spec.base import Duration, Model, Size
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

_SLOT = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"  # greenflag backend names (versions and slots) share one syntax
_IDENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$")  # HAProxy backend/server and nginx upstream names
_PATH = re.compile(r"[A-Za-z0-9_./@+-]+")  # paths that go into haproxy.cfg or a Runtime API command
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")

SlotName = Annotated[str, Field(pattern=_SLOT)]


def _network(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() not in ("private", "loopback"):
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValueError("expected an address, a network such as 10.0.0.0/8, 'private' or 'loopback'") from None
    return value


def _split_command(value: Any) -> Any:
    """A command is an argument list; a string is split the way a POSIX shell would split it (no shell runs)."""
    if isinstance(value, str):
        try:
            parts = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split {value!r} into arguments: {exc}") from None
        if not parts:
            raise ValueError("expected a command, e.g. nginx -s reload")
        return parts
    return value


Command = Annotated[list[str], BeforeValidator(_split_command), Field(min_length=1)]


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
    allow_backends: list[Annotated[str, BeforeValidator(_network)]] = Field(default_factory=list)

    @field_validator("listen", "admin")
    @classmethod
    def _address(cls, value: str) -> str:
        parse_host_port(value)  # ValueError: "… is not HOST:PORT with a port from 0 to 65535"
        return value

    def public_url(self) -> str | None:
        return f"http://{self.listen}"


def _weights_named(spec: HAProxyRouterSpec | NginxRouterSpec) -> None:
    """Every name in `weights` is one of `servers` (the error's key path is router.weights.NAME)."""
    known = ", ".join(spec.servers)
    errors = [
        InitErrorDetails(
            type=PydanticCustomError("unknown_backend", "not one of servers ({known})", {"known": known}),
            loc=("weights", name),
            input=weight,
        )
        for name, weight in spec.weights.items()
        if name not in spec.servers
    ]
    if errors:
        raise ValidationError.from_exception_data(type(spec).__name__, errors)


def _servers(value: dict[str, str], what: str) -> dict[str, str]:
    if not value:
        raise ValueError(f"name at least one {what}, e.g. {{blue: ..., green: ...}}")
    for name in value:
        if not re.fullmatch(_SLOT, name):
            raise ValueError(f"{name!r}: backend names are letters, digits, '.', '_' or '-' (at most 64)")
    if len(set(value.values())) != len(value):
        raise ValueError(f"two backends name the same {what}")
    return value


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
        return _servers(value, "server")

    @model_validator(mode="after")
    def _known_weights(self) -> HAProxyRouterSpec:
        _weights_named(self)
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
        return _servers(value, "address")

    @field_validator("status_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"^http://[^/\s]+(/\S*)?$", value):
            raise ValueError("expected an http:// URL, e.g. http://127.0.0.1:8080/greenflag/status")
        return value

    @model_validator(mode="after")
    def _known_weights(self) -> NginxRouterSpec:
        _weights_named(self)
        return self

    def public_url(self) -> str | None:
        return None if self.listen is None else f"http://{self.listen}"


_HTTP_URL = re.compile(r"https?://[^/\s]+(/\S*)?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # Kubernetes namespaces, label values' shape
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")  # Kubernetes object names
_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


class AlbRouterSpec(RouterBase):
    """`kind: alb`: an Application Load Balancer's weighted forward between target groups (one per slot, e.g. blue
    and green), on a listener's default action or on one of its rules; optionally a test listener (CodeDeploy's
    test traffic route) that sends test traffic to the version under test."""

    kind: Literal["alb"]
    # The region and the ARNs are checked by the driver (greenflag.traffic.alb_actions.check_alb) and by
    # `ops cloudwatch-alarms`, each with one line naming the key.
    region: str
    listener_arn: str
    rule_arn: str | None = None  # steer this rule of the listener instead of its default action
    test_listener_arn: str | None = None
    test_rule_arn: str | None = None  # a rule of the test listener instead of its default action
    target_groups: dict[str, str]
    url: str | None = None  # where clients reach the load balancer (https://shop.example.com), for hooks
    test_url: str | None = None  # where the test listener answers (https://shop.example.com:8443), for hooks
    endpoint_url: str | None = None  # another ELB API endpoint (a VPC endpoint; moto in tests); else boto3's own
    timeout: Duration = 10.0  # one API call (connect and read)

    @field_validator("target_groups")
    @classmethod
    def _slots(cls, value: dict[str, str]) -> dict[str, str]:
        return _servers(value, "target group")

    @field_validator("url", "test_url", "endpoint_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _HTTP_URL.fullmatch(value):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AlbRouterSpec:
        if self.test_rule_arn is not None and self.test_listener_arn is None:
            raise ValueError("test_rule_arn needs test_listener_arn (the listener the rule belongs to)")
        if self.test_listener_arn is not None and self.test_listener_arn == self.listener_arn:
            raise ValueError("test_listener_arn must be another listener than listener_arn")
        known = ", ".join(self.target_groups)
        errors = [
            InitErrorDetails(
                type=PydanticCustomError("unknown_backend", "not one of target_groups ({known})", {"known": known}),
                loc=("weights", name),
                input=weight,
            )
            for name, weight in self.weights.items()
            if name not in self.target_groups
        ]
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    def public_url(self) -> str | None:
        return self.url

    def test_traffic_url(self) -> str | None:
        return self.test_url or self.url


class KubernetesRouterSpec(RouterBase):
    """`kind: kubernetes`: a Gateway API HTTPRoute's backendRef weights (canary), or a Service's selector (blue-green:
    the Service selects the pods whose `selector_label` has the backend's value)."""

    kind: Literal["kubernetes"]
    namespace: str
    httproute: str | None = None
    service: str | None = None
    # httproute: greenflag backend name → the Service a backendRef names (default: every Service the route's rules
    # name, under its own name). service: backend name → the label value pods of that backend carry (default: the
    # name itself).
    backends: dict[str, str] = Field(default_factory=dict)
    selector_label: str = "version"  # service: the selector key that is switched
    kubeconfig: str | None = None  # default: $KUBECONFIG or ~/.kube/config; in a pod: its service account
    context: str | None = None  # a kubeconfig context other than the current one
    url: str | None = None  # where clients reach the service (for hooks)
    timeout: Duration = 10.0  # one write: until the gateways have accepted it (httproute) and it reads back

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
            raise ValueError("expected a Kubernetes namespace (lowercase letters, digits, '-', at most 63)")
        return value

    @field_validator("httproute", "service")
    @classmethod
    def _object_name(cls, value: str | None) -> str | None:
        if value is not None and not _DNS_SUBDOMAIN.fullmatch(value):
            raise ValueError("expected a Kubernetes object name (lowercase letters, digits, '-', '.')")
        return value

    @field_validator("selector_label")
    @classmethod
    def _label_key(cls, value: str) -> str:
        if not _LABEL_KEY.fullmatch(value):
            raise ValueError("expected a label key such as version or app.kubernetes.io/version")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _HTTP_URL.fullmatch(value):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("backends")
    @classmethod
    def _backend_values(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        by_route = info.data.get("httproute") is not None
        pattern, what = (_DNS_LABEL, "a Service name") if by_route else (_LABEL_VALUE, "a label value")
        for name, target in value.items():
            if not re.fullmatch(_SLOT, name):
                raise ValueError(f"{name!r}: backend names are letters, digits, '.', '_' or '-' (at most 64)")
            if not target or len(target) > 63 or not pattern.fullmatch(target):
                raise ValueError(f"{name}: {target!r} is not {what}")
        if len(set(value.values())) != len(value):
            raise ValueError(f"two backends name the same {'Service' if by_route else 'label value'}")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> KubernetesRouterSpec:
        if (self.httproute is None) == (self.service is None):
            raise ValueError("give exactly one of httproute (weights) or service (selector switch)")
        return self

    def public_url(self) -> str | None:
        return self.url


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
