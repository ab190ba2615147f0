"""Router kinds → factories, imported lazily (drivers with optional dependencies load only when configured).

    router = make_router(spec.router)          # a Router for greenflag.yaml's `router:` section

Each factory is `factory(spec: RouterSpec, **options) -> Router`. Later issues add haproxy, nginx, alb, kubernetes.
"""

from __future__ import annotations

import importlib
from typing import Any

from greenflag.spec import RouterSpec
from greenflag.traffic.base import Router

__all__ = ["ROUTER_KINDS", "make_router"]

ROUTER_KINDS: dict[str, str] = {
    "embedded": "greenflag.traffic.embedded.factory:make_embedded_client",
}


def make_router(spec: RouterSpec, **options: Any) -> Router:
    """A Router driver for `spec.kind`. Raises ValueError for kinds without a driver yet."""
    target = ROUTER_KINDS.get(spec.kind)
    if target is None:
        known = ", ".join(sorted(ROUTER_KINDS))
        raise ValueError(f"router.kind: no driver for {spec.kind!r} yet (available: {known})")
    module_name, _, attr = target.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    router: Router = factory(spec, **options)
    return router
