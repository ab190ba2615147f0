"""`HAProxyRouter`: the Router driver for HAProxy, through its Runtime API (`router.kind: haproxy`).

    router = make_router(spec.router)     # HAProxyRouterSpec: socket, backend, servers {blue: s_blue, …}

- **Weights**: every `apply` writes every configured server's weight (`set server app/s_green weight 10`; a backend
  not named gets 0), raising weights before lowering them so the backend never has no server, and then reads them
  back with `show servers state`: what HAProxy holds is what `apply` returns, or it raises. greenflag's weights are
  written as they are: HAProxy takes 0-256, so every percentage 0-100 is exact (10 % is weight 10 of 100).
- **Slots**: HAProxy's servers are fixed slots; `set_backends` points a slot at a version's address (`set server
  … addr`, only for a slot that carries no traffic: maint → addr → weight 0 → ready). A backend taken out goes to
  `drain` (its open requests finish; it is reused last). Which version a slot carries is its address, so a
  restarted controller finds it again.
- **Header route** (with `route_map`): the map file `use-server` rules read; `add map`/`del map` keep an entry per
  backend name (and `*`, the pinned route) → server.
- **Stats**: per-server counters from `show stat` (responses by class, failed responses), as windows between
  samples (`counters.py`); HAProxy keeps no latency histogram, so windows carry none. Its `scur` (sessions open on
  a server) is what `open_requests` reports: a version is stopped once none are left.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from greenflag.spec import HAProxyRouterSpec
from greenflag.traffic.base import BackendWindow, Weights
from greenflag.traffic.counters import CounterHistory, Counters, counters_from_stat
from greenflag.traffic.haproxy_api import HAProxyError, RuntimeAPI, ServerState
from greenflag.traffic.slots import SlotError, assign, complete_weights, url_address

__all__ = ["HAProxyHeaderRouter", "HAProxyRouter", "make_haproxy_router"]

MAX_WEIGHT = 256
PIN_KEY = "*"  # the route map's key for "every request carrying the header"


def _sessions(row: dict[str, str]) -> int:
    """The sessions open on a server, from its `show stat` row (`scur`; 0 when absent)."""
    return int(row.get("scur") or 0)


class HAProxyRouter:
    """Router, BackendManager, RouterStats and OpenRequests over one HAProxy backend's servers."""

    def __init__(
        self,
        spec: HAProxyRouterSpec,
        *,
        base_dir: str | Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec = spec
        self.api = RuntimeAPI(spec.socket, timeout=spec.timeout, base_dir=base_dir)
        self.slots = dict(spec.servers)  # slot (greenflag name) → HAProxy server
        self.names: dict[str, str] = {slot: slot for slot in self.slots}  # backend name → slot
        self._released: dict[str, float] = {}  # slot → when it was taken out (draining)
        self._history = CounterHistory()
        self._clock = clock

    # -- reading --------------------------------------------------------------------------------------------
    async def _states(self) -> dict[str, ServerState]:
        """slot → state; raises HAProxyError when a configured server is not in the backend."""
        found = await self.api.servers(self.spec.backend)
        missing = [server for server in self.slots.values() if server not in found]
        if missing:
            raise HAProxyError(
                f"HAProxy backend {self.spec.backend!r} has no server {', '.join(missing)} "
                f"(it has: {', '.join(found) or 'none'}); check router.backend and router.servers"
            )
        return {slot: found[server] for slot, server in self.slots.items()}

    async def observe(self) -> Weights | None:
        states = await self._states()
        return {name: states[slot].effective_weight for name, slot in self.names.items()}

    async def backends(self) -> dict[str, dict[str, Any]]:
        """name → {server, address, weight, state (ready|drain|maint), up, in_flight, requests_total}."""
        states = await self._states()
        stat = await self.api.stat(self.spec.backend)
        out: dict[str, dict[str, Any]] = {}
        for name, slot in self.names.items():
            state, row = states[slot], stat.get(self.slots[slot], {})
            out[name] = {
                "server": self.slots[slot],
                "slot": slot,
                "address": state.address,
                "weight": state.effective_weight,
                "state": state.mode,
                "status": row.get("status", "?"),
                "in_flight": _sessions(row),
                "requests_total": int(row.get("req_tot") or 0),
            }
        return out

    async def open_requests(self) -> dict[str, int]:
        """Backend name → the sessions HAProxy has open on its server (`show stat` scur)."""
        stat = await self.api.stat(self.spec.backend)
        return {name: _sessions(stat.get(self.slots[slot], {})) for name, slot in self.names.items()}

    # -- Router ---------------------------------------------------------------------------------------------
    async def apply(self, weights: Weights) -> None:
        try:
            wanted = complete_weights(self.names, weights, maximum=MAX_WEIGHT)
        except SlotError as exc:
            raise ValueError(str(exc)) from None
        states = await self._states()
        by_slot = {slot: wanted.get(name, 0) for name, slot in self.names.items()}
        by_slot.update({slot: 0 for slot in self.slots if slot not in by_slot})
        raises = [s for s, w in by_slot.items() if w > states[s].effective_weight]
        lowers = [s for s, w in by_slot.items() if w <= states[s].effective_weight]
        for slot in raises + lowers:  # never a moment with no server taking traffic
            state, weight = states[slot], by_slot[slot]
            if state.weight != weight:
                await self._server("weight", slot, str(weight))
            if weight > 0 and state.mode != "ready":
                await self._server("state", slot, "ready")
        await self._routes_for_names()  # a fresh map (HAProxy started, or reloaded) learns the names again
        await self._confirm(wanted)

    async def _server(self, what: str, slot: str, *values: str) -> str:
        return await self.api.run("set", "server", f"{self.spec.backend}/{self.slots[slot]}", what, *values)

    async def _confirm(self, wanted: Weights) -> None:
        observed = await self.observe()
        if observed != wanted:
            raise HAProxyError(f"HAProxy did not take the weights: asked {wanted}, reads back {observed}")

    async def reset(self, stable: str | None = None) -> None:
        if stable is not None:
            await self.apply({stable: 100})
        elif self.spec.weights:
            await self.apply({n: w for n, w in self.spec.weights.items() if n in self.names})
        else:
            current = await self.observe()
            await self.apply(current or {})
        await self._clear_header_route()

    async def aclose(self) -> None:
        return None

    async def _clear_header_route(self) -> None:
        return None

    # -- BackendManager ---------------------------------------------------------------------------------------
    async def set_backends(self, backends: dict[str, str]) -> None:
        """Point slots at `backends` (name → http://HOST:PORT). New ones start at weight 0; removed ones drain."""
        try:
            addresses = {name: url_address(url) for name, url in backends.items()}
            for name, address in addresses.items():
                if not _ip(address.rpartition(":")[0].strip("[]")):
                    raise SlotError(f"{name}: {backends[name]}: HAProxy's `set server addr` takes an IP address")
            states = await self._states()
            now = self._clock()
            draining = [s for s, at in self._released.items() if now - at < self.spec.drain_timeout]
            mapping = assign({s: states[s].address for s in self.slots}, addresses, draining=draining)
        except SlotError as exc:
            raise ValueError(f"router.servers: {exc}") from None
        await self._sample()
        held = set(mapping.values())
        for slot in self.slots:
            if slot not in held and (slot in self.names.values() or states[slot].mode == "ready"):
                if states[slot].weight != 0:
                    await self._server("weight", slot, "0")
                if states[slot].mode == "ready":
                    await self._server("state", slot, "drain")
                self._released.setdefault(slot, now)
        for name, slot in mapping.items():
            self._released.pop(slot, None)
            if states[slot].address != addresses[name]:
                host, _, port = addresses[name].rpartition(":")
                await self._server("state", slot, "maint")
                await self._server("weight", slot, "0")
                await self._server("addr", slot, host.strip("[]"), "port", port)
            if states[slot].mode != "ready" or states[slot].address != addresses[name]:
                await self._server("state", slot, "ready")
        self.names = dict(mapping)
        await self._sample(force=True)
        await self._routes_for_names()
        states = await self._states()
        wrong = {n: states[s].address for n, s in mapping.items() if states[s].address != addresses[n]}
        if wrong:
            raise HAProxyError(f"HAProxy did not take the addresses: asked {addresses}, reads back {wrong}")

    async def _routes_for_names(self) -> None:
        return None

    # -- RouterStats ----------------------------------------------------------------------------------------
    async def _counters(self) -> dict[str, tuple[str, Counters]]:
        stat = await self.api.stat(self.spec.backend)
        return {name: (slot, counters_from_stat(stat.get(self.slots[slot], {}))) for name, slot in self.names.items()}

    async def _sample(self, *, force: bool = False) -> None:
        self._history.add(self._clock(), await self._counters(), force=force)

    async def stats(self, window_s: float) -> dict[str, BackendWindow]:
        """Per-backend windows from HAProxy's counters: at most as far back as this driver has sampled."""
        current = await self._counters()
        now = self._clock()
        windows = self._history.windows(now, current, window_s)
        self._history.add(now, current)
        return windows


class HAProxyHeaderRouter(HAProxyRouter):
    """HAProxyRouter with the header route (HeaderRouting), kept in the route map that haproxy.cfg's use-server
    rules read: an entry per backend name (the header's value) and `*` for a pinned route."""

    @property
    def route_map(self) -> str:
        assert self.spec.route_map is not None
        return self.spec.route_map

    async def _set_entries(self, wanted: dict[str, str | None]) -> None:
        entries = await self.api.map_entries(self.route_map)
        for key, server in wanted.items():
            if server is None:
                if key in entries:
                    await self.api.run("del", "map", self.route_map, key)
            elif key not in entries:
                await self.api.run("add", "map", self.route_map, key, server)
            elif entries[key] != server:
                await self.api.run("set", "map", self.route_map, key, server)
        after = await self.api.map_entries(self.route_map)
        wrong = {k: after.get(k) for k, v in wanted.items() if after.get(k) != v}
        if wrong:
            raise HAProxyError(f"HAProxy route map {self.route_map}: entries read back as {wrong}")

    async def _routes_for_names(self) -> None:
        """Entries for every slot name and backend name; names of versions no longer here are removed."""
        entries = await self.api.map_entries(self.route_map)
        wanted: dict[str, str | None] = {slot: server for slot, server in self.slots.items()}
        wanted.update({name: self.slots[slot] for name, slot in self.names.items()})
        servers = set(self.slots.values())
        for key, value in entries.items():
            if key not in wanted and key != PIN_KEY and value in servers:
                wanted[key] = None
        await self._set_entries(wanted)

    async def set_header_route(self, backend: str | None) -> None:
        if backend is not None and backend not in self.names:
            raise ValueError(f"unknown backend {backend!r} (known: {', '.join(self.names)})")
        await self._set_entries({PIN_KEY: None if backend is None else self.slots[self.names[backend]]})

    async def header_route(self) -> str | None:
        server = (await self.api.map_entries(self.route_map)).get(PIN_KEY)
        return next((n for n, s in self.names.items() if self.slots[s] == server), None)

    async def _clear_header_route(self) -> None:
        await self.set_header_route(None)


def _ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def make_haproxy_router(
    spec: HAProxyRouterSpec, *, base_dir: str | Path | None = None, **options: Any
) -> HAProxyRouter:
    """The driver for `router.kind: haproxy`; with `route_map` it also routes by header."""
    cls = HAProxyHeaderRouter if spec.route_map is not None else HAProxyRouter
    return cls(spec, base_dir=base_dir, **options)
