"""`greenflag router haproxy-config`: a working haproxy.cfg for a `router.kind: haproxy` spec. Pure.

What it holds and why:
- the Runtime API (`stats socket … level admin`) greenflag steers HAProxy through;
- one frontend and the spec's backend with one server per slot (`servers`), health-checked; a slot without an
  address starts `disabled` at 0.0.0.0:0 until greenflag points it at a version;
- zero failed requests on switches: weights change per request (in-flight requests finish where they are),
  `option redispatch` + `retry-on conn-failure empty-response` resend a request whose connection failed or was
  closed before any answer (a stopping version, a stale keep-alive connection) to another server, and `slowstart`
  ramps a version that just came up instead of sending it its whole share at once;
- with `route_map`: `use-server` rules that read the map file greenflag keeps (the header route; HAProxy needs
  the file to exist when it starts, even empty).
"""

from __future__ import annotations

from collections.abc import Mapping

from greenflag.spec import HAProxyRouterSpec

__all__ = ["render_haproxy_config"]
__pure__ = True


def _stats_socket(address: str) -> str:
    if address.startswith(("/", ".")):
        return f"stats socket {address} mode 600 level admin"
    host, _, port = address.rpartition(":")
    family = "ipv6" if host.startswith("[") else "ipv4"
    return f"stats socket {family}@{host.strip('[]')}:{port} level admin"


def render_haproxy_config(
    spec: HAProxyRouterSpec,
    *,
    listen: str = "127.0.0.1:8000",
    addresses: Mapping[str, str] | None = None,
    check_path: str = "/",
    slowstart_s: float = 5.0,
) -> str:
    """haproxy.cfg for `spec`: `listen` is the frontend's HOST:PORT, `addresses` the slots' first addresses
    (slot → HOST:PORT), `check_path` the health check's path. Weights: the spec's, else all on the first slot."""
    addresses = dict(addresses or {})
    weights = dict(spec.weights) or {next(iter(spec.servers)): 100}
    header = spec.route_header
    lines = [
        "# haproxy.cfg written by `greenflag router haproxy-config` for router.kind: haproxy",
        "global",
        f"    {_stats_socket(spec.socket)}",
        "    stats timeout 30s",
        "",
        "defaults",
        "    mode http",
        "    option http-keep-alive",
        "    timeout connect 2s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    timeout http-keep-alive 10s",
        "    # a request whose connection failed, or was closed before any answer, goes to another server",
        "    retries 3",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response",
        "",
        "frontend greenflag",
        f"    bind {listen}",
        "    option forwardfor",
        f"    default_backend {spec.backend}",
        "",
        f"backend {spec.backend}",
        "    balance roundrobin",
        f"    option httpchk GET {check_path}",
        f"    default-server check inter 1s fall 2 rise 1 slowstart {round(slowstart_s * 1000)}ms",
    ]
    if spec.route_map is not None:
        route = f"req.hdr({header}),map({spec.route_map})"
        lines.append(f"    # {header}: the pinned route (`*` in the map) first, then the backend the header names")
        for server in spec.servers.values():
            lines.append(
                f"    use-server {server} if {{ req.hdr({header}) -m found }} "
                f"{{ str(*),map({spec.route_map}) -m str {server} }}"
            )
        for server in spec.servers.values():
            lines.append(f"    use-server {server} if {{ {route} -m str {server} }}")
    for slot, server in spec.servers.items():
        address = addresses.get(slot)
        weight = weights.get(slot, 0)
        if address is None:
            lines.append(f"    server {server} 0.0.0.0:0 weight 0 disabled  # {slot}: no version yet")
        else:
            lines.append(f"    server {server} {address} weight {weight}  # {slot}")
    return "\n".join(lines) + "\n"
