"""Registry factory for `kind: embedded`: a driver for a running embedded router's admin API."""

from __future__ import annotations

from pathlib import Path

from greenflag.spec import RouterSpec
from greenflag.traffic.embedded.admin_token import read_token
from greenflag.traffic.embedded.driver import EmbeddedRouterClient
from greenflag.units import parse_host_port

__all__ = ["make_embedded_client"]


def make_embedded_client(
    spec: RouterSpec, *, admin_url: str | None = None, token: str | None = None, base_dir: str | Path | None = None
) -> EmbeddedRouterClient:
    """Reach the router at `spec.admin` with the token in `spec.admin_token_file` (relative to `base_dir`)."""
    if admin_url is None:
        host, port = parse_host_port(spec.admin)
        admin_url = f"http://{host}:{port}"
    if token is None:
        path = Path(spec.admin_token_file)
        if base_dir is not None and not path.is_absolute():
            path = Path(base_dir) / path
        token = read_token(path)
    return EmbeddedRouterClient(admin_url, token)
