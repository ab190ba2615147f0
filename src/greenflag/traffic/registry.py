"""Router kinds → factories, imported lazily (drivers with optional dependencies load only when configured).

    router = make_router(spec.router)          # a Router for greenflag.yaml's `router:` section

Each factory is `factory(spec, *, base_dir=None, **options) -> Router` for its kind's model in `greenflag.spec.router`
(`base_dir`: relative paths in the spec are relative to it, the directory of greenflag.yaml).
"""

from __future__ import annotations

import importlib
from typing import Any

from greenflag.spec import RouterBase
from greenflag.traffic.base import Router

__all__ = ["ROUTER_KINDS", "make_router"]

ROUTER_KINDS: dict[str, str] = {
    "embedded": "greenflag.traffic.embedded.factory:make_embedded_client",
    "haproxy": "greenflag.traffic.haproxy:make_haproxy_router",
    "nginx": "greenflag.traffic.nginx:make_nginx_router",
    "alb": "greenflag.traffic.alb:make_alb_router",
    "kubernetes": "greenflag.traffic.kubernetes:make_kubernetes_router",
}


def make_router(spec: RouterBase, **options: Any) -> Router:
    """A Router driver for the spec's kind. Raises ValueError for kinds without a driver yet."""
    kind = str(getattr(spec, "kind", ""))
    target = ROUTER_KINDS.get(kind)
    if target is None:
        known = ", ".join(sorted(ROUTER_KINDS))
        raise ValueError(f"router.kind: no driver for {kind!r} yet (available: {known})")
    module_name, _, attr = target.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    router: Router = factory(spec, **options)
    return router
