"""The Router drivers for Kubernetes (`router.kind: kubernetes`, the `[k8s]` extra).

    router = make_router(spec.router)   # KubernetesRouterSpec: namespace + httproute (weights) or service (switch)

- **HTTPRoute** (`httproute: web`, Gateway API, canary): every `apply` reads the route, writes new
  `spec.rules[].backendRefs[].weight` for every one of greenflag's Services in every rule that sends traffic to them
  (a backend not named gets 0; `kubernetes_objects.py`) as a JSON merge patch carrying the `resourceVersion` it
  read, and waits (up to `timeout`) until every parent gateway has observed the new generation with `Accepted` and
  `ResolvedRefs` True: what the gateways accepted is what `apply` returns, or it raises. A 409 (someone else wrote
  the route in between) reads it again and retries, at most 5 times. `observe()` is None while a gateway has not
  accepted the route's current generation.
- **Service** (`service: web`, blue-green): the Service's selector `selector_label` (default `version`) is switched
  to the value of the one backend with a weight; a split is refused (a selector sends all traffic to one version:
  use an HTTPRoute for a canary). No backend with a weight sets the value `greenflag-no-backend` (nothing selected).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from greenflag.spec import KubernetesRouterSpec
from greenflag.traffic.base import Weights
from greenflag.traffic.kubernetes_api import KubeApi, KubeConflict, KubeError, object_path
from greenflag.traffic.kubernetes_objects import (
    NO_BACKEND_VALUE,
    route_services,
    route_status,
    route_weights,
    with_route_weights,
)

__all__ = ["KubeError", "KubernetesRouteRouter", "KubernetesServiceRouter", "make_kubernetes_router"]

MAX_ATTEMPTS = 5  # writes tried when the object keeps changing under us (409)
_LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")


def _check(weights: Weights, known: list[str] | None) -> None:
    for name, value in weights.items():
        if known is not None and name not in known:
            raise ValueError(f"unknown backend {name!r} (known: {', '.join(known) or 'none'})")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"weight of {name!r} must be a non-negative integer, got {value!r}")


class _KubeRouter:
    def __init__(
        self,
        spec: KubernetesRouterSpec,
        *,
        api: KubeApi,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.spec = spec
        self.api = api
        self._clock = clock
        self._sleep = sleep

    async def _get(self, path: str) -> dict[str, Any]:
        return await self.api.request("GET", path)

    async def _patch(self, path: str, build: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any]:
        """Read the object, `build` a merge patch from it (None: nothing to change) and write it with the
        resourceVersion read; on a conflict read again. Returns the object as written (or as read)."""
        for _ in range(MAX_ATTEMPTS):
            current = await self._get(path)
            patch = build(current)
            if patch is None:
                return current
            version = (current.get("metadata") or {}).get("resourceVersion")
            body = {**patch, "metadata": {**patch.get("metadata", {}), "resourceVersion": version}}
            try:
                return await self.api.request("PATCH", path, body)
            except KubeConflict:
                continue
        raise KubeError(f"{path}: changed by someone else on each of {MAX_ATTEMPTS} attempts; try again")

    async def reset(self, stable: str | None = None) -> None:
        if stable is not None:
            await self.apply({stable: 100})
        elif self.spec.weights:
            await self.apply(dict(self.spec.weights))
        else:
            await self.apply(await self.observe() or {})

    async def apply(self, weights: Weights) -> None:  # pragma: no cover - both drivers define it
        raise NotImplementedError

    async def observe(self) -> Weights | None:  # pragma: no cover - both drivers define it
        raise NotImplementedError

    async def aclose(self) -> None:
        self.api.close()


class KubernetesRouteRouter(_KubeRouter):
    """Router over a Gateway API HTTPRoute's backendRef weights."""

    def __init__(self, spec: KubernetesRouterSpec, **options: Any) -> None:
        super().__init__(spec, **options)
        assert spec.httproute is not None
        self.path = object_path("httproutes", spec.namespace, spec.httproute)
        self.label = f"httproute {spec.namespace}/{spec.httproute}"

    def _names(self, route: dict[str, Any]) -> dict[str, str]:
        """greenflag backend name → Service."""
        return dict(self.spec.backends) or {s: s for s in route_services(route)}

    async def observe(self) -> Weights | None:
        route = await self._get(self.path)
        names = self._names(route)
        by_service = route_weights(route, list(names.values()))
        if by_service is None or not route_status(route).accepted:
            return None
        return {name: by_service.get(service, 0) for name, service in names.items()}

    async def apply(self, weights: Weights) -> None:
        wanted: dict[str, int] = {}

        def build(route: dict[str, Any]) -> dict[str, Any] | None:
            names = self._names(route)
            _check(weights, list(names))
            wanted.clear()
            wanted.update({service: int(weights.get(name, 0)) for name, service in names.items()})
            rules = with_route_weights(route, wanted)
            if rules == (route.get("spec") or {}).get("rules"):
                return None
            return {"spec": {"rules": rules}}

        try:
            written = await self._patch(self.path, build)
        except KubeError as exc:
            raise KubeError(f"{self.label}: {exc}", exc.status) from None
        await self._accepted(int((written.get("metadata") or {}).get("generation") or 0), wanted)

    async def _accepted(self, generation: int, wanted: dict[str, int]) -> None:
        """Wait until every parent gateway has observed `generation` (or later) and accepted it."""
        deadline = self._clock() + self.spec.timeout
        delay = 0.05
        while True:
            route = await self._get(self.path)
            seen = route_weights(route, list(wanted))
            if seen != wanted:
                raise KubeError(f"{self.label} reads back {seen}, not the weights written {wanted}")
            status = route_status(route)
            if status.current and int(route["metadata"].get("generation") or 0) >= generation:
                if status.accepted:
                    return
                raise KubeError(f"{self.label}: not accepted: {'; '.join(status.problems)}")
            if self._clock() >= deadline:
                parents = ", ".join(status.parents) or "no gateway has reported on it"
                raise KubeError(f"{self.label}: generation {generation} not accepted within "
                                f"{self.spec.timeout:g}s ({parents})")  # fmt: skip
            await self._sleep(delay)
            delay = min(delay * 2, 0.5)

    async def backends(self) -> dict[str, dict[str, Any]]:
        """name → {service, weight, state}: for `greenflag router status`."""
        route = await self._get(self.path)
        names = self._names(route)
        by_service = route_weights(route, list(names.values())) or {}
        status = route_status(route)
        if status.accepted:
            state = "accepted by " + ", ".join(status.parents)
        else:
            state = "; ".join(status.problems) or "not accepted yet"
        return {n: {"service": s, "weight": by_service.get(s, 0), "state": state} for n, s in names.items()}


class KubernetesServiceRouter(_KubeRouter):
    """Router over a Service's selector: all traffic to one backend at a time (blue-green)."""

    switch_only = True  # weights are all-or-nothing: one backend with a weight, or none

    def __init__(self, spec: KubernetesRouterSpec, **options: Any) -> None:
        super().__init__(spec, **options)
        assert spec.service is not None
        self.path = object_path("services", spec.namespace, spec.service)
        self.label = f"service {spec.namespace}/{spec.service}"
        self._seen: set[str] = set(spec.backends)  # names applied (or read) so far, each reported with its weight

    def _value(self, name: str) -> str:
        value = self.spec.backends.get(name, name)
        if not _LABEL_VALUE.fullmatch(value):
            raise ValueError(f"backend {name!r} is not a label value (letters, digits, '-', '_', '.'; at most 63)")
        return value

    def _name(self, value: str) -> str:
        return next((n for n, v in self.spec.backends.items() if v == value), value)

    async def apply(self, weights: Weights) -> None:
        _check(weights, list(self.spec.backends) or None)
        live = sorted(n for n, w in weights.items() if w > 0)
        if len(live) > 1:
            raise ValueError(f"a Service selector sends all traffic to one backend, not to {' and '.join(live)}: "
                             "give one backend a weight (use router.httproute for a split)")  # fmt: skip
        value = self._value(live[0]) if live else NO_BACKEND_VALUE
        label = self.spec.selector_label

        def build(service: dict[str, Any]) -> dict[str, Any] | None:
            selector = (service.get("spec") or {}).get("selector") or {}
            return None if selector.get(label) == value else {"spec": {"selector": {label: value}}}

        try:
            await self._patch(self.path, build)
            held = ((await self._get(self.path)).get("spec") or {}).get("selector") or {}
        except KubeError as exc:
            raise KubeError(f"{self.label}: {exc}", exc.status) from None
        if held.get(label) != value:
            raise KubeError(f"{self.label}: selector {label} reads back {held.get(label)!r}, not {value!r}")
        self._seen.update(weights)

    async def observe(self) -> Weights | None:
        selector = ((await self._get(self.path)).get("spec") or {}).get("selector") or {}
        value = selector.get(self.spec.selector_label)
        if not isinstance(value, str):
            return None  # the selector does not choose a version: it selects them all
        out = dict.fromkeys(sorted(self._seen), 0)
        if value != NO_BACKEND_VALUE:
            out[self._name(value)] = 100
        return out

    async def backends(self) -> dict[str, dict[str, Any]]:
        weights = await self.observe() or {}
        return {n: {"value": self._value(n), "weight": w, "state": "selected" if w else "-"}
                for n, w in weights.items()}  # fmt: skip


def make_kubernetes_router(
    spec: KubernetesRouterSpec, *, base_dir: str | Path | None = None, **options: Any
) -> KubernetesRouteRouter | KubernetesServiceRouter:
    """The driver for `router.kind: kubernetes`: HTTPRoute weights, or a Service's selector."""
    if "api" not in options:
        kubeconfig = spec.kubeconfig
        if kubeconfig is not None and base_dir is not None and not Path(kubeconfig).expanduser().is_absolute():
            kubeconfig = str(Path(base_dir) / kubeconfig)
        kubeconfig = None if kubeconfig is None else str(Path(kubeconfig).expanduser())
        options["api"] = KubeApi(kubeconfig=kubeconfig, context=spec.context, timeout=spec.timeout)
    if spec.httproute is not None:
        return KubernetesRouteRouter(spec, **options)
    return KubernetesServiceRouter(spec, **options)
