"""`greenflag router haproxy-config | nginx-config`: print a working configuration for a real router's spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from greenflag.cli.common import parse_kv
from greenflag.errors import UsageError

__all__ = ["register"]

HAPROXY_EPILOG = """\
Examples:

  greenflag router haproxy-config -f greenflag.yaml > /etc/haproxy/haproxy.cfg
  greenflag router haproxy-config -f greenflag.yaml --listen 127.0.0.1:8000 \\
      --server blue=127.0.0.1:9001 --check-path /healthz/ready

Needs router.kind: haproxy. Slots without --server start disabled until greenflag points them at a version.
With router.route_map, create that file (it may be empty) before HAProxy starts.
"""

NGINX_EPILOG = """\
Examples:

  greenflag router nginx-config -f greenflag.yaml > /etc/nginx/nginx.conf
  greenflag router nginx-config -f greenflag.yaml --upstream > /etc/nginx/conf.d/app-upstream.conf

Needs router.kind: nginx. --upstream prints the first upstream file (router.upstream_file); after that
greenflag rewrites it on every change.
"""

FILE_OPT = typer.Option(..., "-f", "--file", help="greenflag.yaml with a `router:` section.")
LISTEN_OPT = typer.Option(
    None, "--listen", help="HOST:PORT clients connect to (default router.listen, or 127.0.0.1:8000)."
)


def _spec(file: Path, kind: str) -> tuple[Any, Any]:
    from greenflag.config import load_spec

    spec = load_spec(file)
    if spec.router.kind != kind:
        raise UsageError(f"{file}: router.kind is {spec.router.kind!r}; this command needs kind: {kind}")
    return spec, spec.router


def _listen(value: str | None, router: Any) -> str:
    from greenflag.units import parse_host_port

    listen = value or router.listen or "127.0.0.1:8000"
    try:
        parse_host_port(listen)
    except ValueError as exc:
        raise UsageError(f"--listen {listen!r}: {exc}") from None
    return str(listen)


def _check_path(value: str | None, spec: Any) -> str:
    path = value or (spec.health.readiness.http if spec.health.readiness is not None else None) or "/"
    if not path.startswith("/") or any(c.isspace() or c in "#;\\{}'\"" for c in path):
        raise UsageError(f"--check-path {path!r}: expected a path such as /healthz/ready (no spaces or quotes)")
    return str(path)


def register(router_app: typer.Typer) -> None:
    @router_app.command("haproxy-config", epilog=HAPROXY_EPILOG)
    def haproxy_config(
        file: Path = FILE_OPT,
        listen: str | None = LISTEN_OPT,
        server: list[str] = typer.Option([], "--server", help="SLOT=HOST:PORT: a slot's first address, repeatable."),
        check_path: str | None = typer.Option(
            None, "--check-path", help="Health check path (default health.readiness.http, or /)."
        ),
        slowstart: str = typer.Option("5s", "--slowstart", help="How long a version that came up ramps its weight."),
    ) -> None:
        """Print a working haproxy.cfg: Runtime API socket, frontend, the backend's slots with health checks."""
        from greenflag.spec.router import HAProxyRouterSpec
        from greenflag.traffic.haproxy_config import render_haproxy_config
        from greenflag.units import parse_duration

        spec, router = _spec(file, "haproxy")
        assert isinstance(router, HAProxyRouterSpec)
        addresses = dict(parse_kv("--server", s) for s in server)
        for slot, address in addresses.items():
            if slot not in router.servers:
                raise UsageError(f"--server {slot}: not a slot of router.servers ({', '.join(router.servers)})")
            if not _host_port(address):
                raise UsageError(f"--server {slot}={address}: expected HOST:PORT")
        try:
            slowstart_s = parse_duration(slowstart)
        except ValueError as exc:
            raise UsageError(f"--slowstart {slowstart!r}: {exc}") from None
        typer.echo(
            render_haproxy_config(
                router,
                listen=_listen(listen, router),
                addresses=addresses,
                check_path=_check_path(check_path, spec),
                slowstart_s=slowstart_s,
            ),
            nl=False,
        )

    @router_app.command("nginx-config", epilog=NGINX_EPILOG)
    def nginx_config(
        file: Path = FILE_OPT,
        listen: str | None = LISTEN_OPT,
        upstream: bool = typer.Option(False, "--upstream", help="Print the first upstream file instead."),
        workers: str = typer.Option("auto", "--workers", help="worker_processes: auto or a number."),
        pid: str | None = typer.Option(None, "--pid", help="pid file path (default: nginx's own)."),
        error_log: str | None = typer.Option(None, "--error-log", help="error_log path (default: nginx's own)."),
    ) -> None:
        """Print a working nginx.conf: the upstream file included, the header route, the status location."""
        from greenflag.spec.router import NginxRouterSpec
        from greenflag.traffic.nginx import NginxRouter
        from greenflag.traffic.nginx_conf import render_upstream
        from greenflag.traffic.nginx_config import render_nginx_config

        _, router = _spec(file, "nginx")
        assert isinstance(router, NginxRouterSpec)
        try:
            if upstream:
                text = render_upstream(NginxRouter(router).initial_state())
            else:
                text = render_nginx_config(
                    router, listen=_listen(listen, router), workers=workers, pid=pid, error_log=error_log
                )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        typer.echo(text, nl=False)


def _host_port(text: str) -> bool:
    import re

    return re.fullmatch(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$", text) is not None
