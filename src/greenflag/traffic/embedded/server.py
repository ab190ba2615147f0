"""`EmbeddedRouter`: the embedded traffic router, runnable standalone or inside another process's event loop.

router = EmbeddedRouter(RouterSpec(listen="127.0.0.1:0", backends={"blue": "http://127.0.0.1:9001"},
                                   weights={"blue": 100}), admin_token="secret")
await router.start()           # proxy listener (+ admin API when spec.admin is set)
router.set_weights({"blue": 0, "green": 100})
await router.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenflag.spec import RouterSpec
from greenflag.traffic.base import SYNTHETIC_HEADER, BackendWindow
from greenflag.traffic.embedded.admin_token import synthetic_key
from greenflag.traffic.embedded.core import ProxyCore
from greenflag.traffic.embedded.http1 import Limits
from greenflag.traffic.embedded.policy import BackendPolicy, admin_exposure_problem
from greenflag.traffic.embedded.routing import backend_state, validate_weights
from greenflag.traffic.embedded.stats import window_to_json
from greenflag.traffic.embedded.upstream import Backend, parse_backend_url, resolve
from greenflag.units import parse_host_port

__all__ = ["BackendState", "EmbeddedRouter"]

log = logging.getLogger("greenflag.router")


@dataclass(frozen=True)
class BackendState:
    name: str
    url: str
    weight: int
    state: str  # active | draining | drained | down
    in_flight: int
    drained: bool

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "weight": self.weight, "state": self.state, "in_flight": self.in_flight,
                "drained": self.drained}  # fmt: skip


class EmbeddedRouter:
    """The proxy listener, its backends and weights, drain timers, and (optionally) the admin API listener."""

    def __init__(
        self,
        spec: RouterSpec,
        *,
        admin_token: str | None = None,
        admin: bool = True,
        health_interval: float = 1.0,
        admin_token_file: str | Path | None = None,
    ) -> None:
        """Raises ValueError (naming the key) for a backend that may not be one, or an admin API that would listen
        beyond loopback without a strong, private token (`admin_token_file`: where the token came from)."""
        if not isinstance(spec, RouterSpec):  # e.g. a haproxy spec: never start the embedded router in its place
            raise ValueError(f"router.kind is {getattr(spec, 'kind', '?')!r}: the embedded router needs kind embedded")
        self.spec = spec
        self._admin_token = admin_token
        self.synthetic_key = synthetic_key(admin_token)  # X-Greenflag-Synthetic: greenflag's analysis traffic
        self._admin_enabled = admin and admin_token is not None
        self._health_interval = health_interval
        self._core: ProxyCore | None = None
        self._server: asyncio.AbstractServer | None = None
        self._admin_runner: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._drain_timers: dict[str, asyncio.TimerHandle] = {}
        self.metric_collectors: list[Any] = []  # more series on the admin /metrics (greenflag up's controller)
        self.address: tuple[str, int] = parse_host_port(spec.listen)
        self.admin_address: tuple[str, int] | None = parse_host_port(spec.admin) if self._admin_enabled else None
        if self.admin_address is not None and admin_token is not None:
            mode = Path(admin_token_file).stat().st_mode if admin_token_file is not None else None
            problem = admin_exposure_problem(self.admin_address[0], admin_token, mode)
            if problem is not None:
                raise ValueError(f"router.admin_token_file: {problem}")
        # The backends given at start are trusted (but never a link-local or metadata address); their addresses
        # join the allow-list for backends set later (admin API `PUT /backends`).
        anywhere = BackendPolicy.build(["0.0.0.0/0", "::/0"])
        self._addresses = self.resolve_backends(spec.backends, anywhere, "router.backends.")
        try:
            self.policy = BackendPolicy.build(spec.allow_backends, [a for v in self._addresses.values() for a in v])
        except ValueError as exc:
            raise ValueError(f"router.allow_backends: {exc}") from None
        validate_weights(spec.weights, spec.backends)

    # -- lifecycle --------------------------------------------------------------------------------------
    @property
    def core(self) -> ProxyCore:
        if self._core is None:
            raise RuntimeError("the router is not started")
        return self._core

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    @property
    def admin_url(self) -> str | None:
        return None if self.admin_address is None else f"http://{self.admin_address[0]}:{self.admin_address[1]}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        spec = self.spec
        core = ProxyCore(
            loop,
            route_header=spec.route_header,
            sticky=spec.sticky,
            connect_timeout=spec.connect_timeout,
            header_timeout=spec.header_timeout,
            limits=Limits(max_body_bytes=spec.max_body_size),
        )
        core.synthetic_key = self.synthetic_key.encode()
        self._core = core
        for name, url in spec.backends.items():
            core.backends[name] = Backend(name, url, self._addresses[name])
        weights = dict(spec.weights) if spec.weights else ({next(iter(spec.backends)): 100} if spec.backends else {})
        core.weights = {name: weights.get(name, 0) for name in spec.backends}
        core.rebuild()
        host, port = self.address
        self._server = await loop.create_server(
            lambda: _make_client(core), host, port, reuse_address=True, backlog=4096
        )
        sock = self._server.sockets[0].getsockname()
        self.address = (str(sock[0]), int(sock[1]))
        self._spawn(self._health_loop())
        self._spawn(self._sweep_loop())
        if self._admin_enabled and self.admin_address is not None:
            from aiohttp import web

            from greenflag.traffic.embedded.admin import make_admin_app

            assert self._admin_token is not None
            runner = web.AppRunner(make_admin_app(self, self._admin_token), access_log=None)
            await runner.setup()
            sock = socket.create_server(self.admin_address, backlog=128)
            sock.setblocking(False)
            got = sock.getsockname()
            self.admin_address = (str(got[0]), int(got[1]))
            await web.SockSite(runner, sock).start()
            self._admin_runner = runner

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, let open requests finish for up to `grace` seconds, then close everything."""
        core = self._core
        if core is None:
            return
        if self._server is not None:
            self._server.close()
        for conn in list(core.connections):
            if not conn.queue:
                conn.close()
        deadline = time.monotonic() + grace
        while any(b.in_flight for b in core.backends.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(core.connections):
            if conn.transport is not None:
                conn.transport.abort()
        for backend in core.backends.values():
            backend.close_idle()
        for timer in self._drain_timers.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._admin_runner is not None:
            await self._admin_runner.cleanup()
            self._admin_runner = None
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
        self._core = None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- weights, backends, routes ----------------------------------------------------------------------
    def weights(self) -> dict[str, int]:
        core = self.core
        return {n: core.weights.get(n, 0) for n, b in core.backends.items() if not b.removed}

    def set_weights(self, weights: dict[str, int]) -> None:
        """Atomically replace all weights: a backend not named gets 0 (so a rollback to `{stable: 100}` takes
        every request from the canary at once). Raises ValueError for unknown names or bad values."""
        core = self.core
        live = [n for n, b in core.backends.items() if not b.removed]
        clean = validate_weights(weights, live)
        core.weights = {name: clean.get(name, 0) for name in live}
        core.rebuild()
        for name in live:
            self._update_drain(name)

    def resolve_backends(
        self, backends: dict[str, str], policy: BackendPolicy | None = None, key: str = "backends."
    ) -> dict[str, tuple[str, ...]]:
        """name → checked addresses for the backends that are new or changed (blocking for hostnames: DNS).
        Raises ValueError naming the backend."""
        current = self._core.backends if self._core is not None else {}
        out: dict[str, tuple[str, ...]] = {}
        for name, url in backends.items():
            known = current.get(name)
            if known is not None and known.url == url and not known.removed:
                out[name] = known.addresses
                continue
            try:
                host, port = parse_backend_url(url)
                policy = policy or self.policy
                policy.check_name(host)  # before any DNS query
                addresses = resolve(host, port)
                policy.check(host, addresses)
            except ValueError as exc:
                raise ValueError(f"{key}{name}: {exc}") from None
            out[name] = addresses
        return out

    def set_backends(self, backends: dict[str, str], addresses: dict[str, tuple[str, ...]] | None = None) -> None:
        """Replace the backend set (name → http URL). New ones start at weight 0; removed ones drain first.

        Every new or changed backend must pass `policy` (never link-local or metadata, and inside the allow-list);
        `addresses` are those `resolve_backends` returned for them (resolved here when not given). Raises ValueError.
        """
        core = self.core
        if addresses is None:
            addresses = self.resolve_backends(backends)
        for name, url in backends.items():
            current = core.backends.get(name)
            if current is not None and current.url == url and not current.removed:
                continue
            if current is not None:
                self._retire(current)
            core.backends[name] = Backend(name, url, addresses[name])
            core.weights.setdefault(name, 0)
        for name, backend in list(core.backends.items()):
            if name not in backends and not backend.removed:
                self._retire(backend)
                core.weights.pop(name, None)
        core.rebuild()

    def _retire(self, backend: Backend) -> None:
        backend.removed = True
        backend.close_idle()
        core = self.core
        if not backend.in_flight:
            if core.backends.get(backend.name) is backend:
                del core.backends[backend.name]
            return
        self._spawn(self._drain_removed(backend))

    async def _drain_removed(self, backend: Backend) -> None:
        deadline = time.monotonic() + self.spec.drain_timeout
        while backend.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        core = self._core
        if core is None:
            return
        core.close_streams(backend)
        if core.backends.get(backend.name) is backend:
            del core.backends[backend.name]

    def set_header_route(self, backend: str | None) -> None:
        core = self.core
        if backend is not None and backend not in core.backends:
            raise ValueError(f"unknown backend {backend!r}")
        core.header_route = backend
        core.rebuild()

    def reset(self, stable: str | None = None) -> None:
        """100 % to `stable` (or the configured weights, when there are any) and no pinned header route."""
        core = self.core
        live = [n for n, b in core.backends.items() if not b.removed]
        if stable is not None and stable not in live:
            raise ValueError(f"unknown backend {stable!r}")
        if stable is not None:
            weights = {n: (100 if n == stable else 0) for n in live}
        elif self.spec.weights:
            weights = {n: self.spec.weights.get(n, 0) for n in live}
        else:  # no configured weights to go back to: keep the current ones
            weights = {n: core.weights.get(n, 0) for n in live}
        core.header_route = None
        core.rebuild()
        self.set_weights(weights)

    def header_route(self) -> str | None:
        return self.core.header_route

    def _update_drain(self, name: str) -> None:
        core = self.core
        timer = self._drain_timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        if core.weights.get(name, 0) == 0 and core.backends[name].in_flight:
            self._drain_timers[name] = core.loop.call_later(self.spec.drain_timeout, self._drain_expired, name)

    def _drain_expired(self, name: str) -> None:
        self._drain_timers.pop(name, None)
        core = self._core
        if core is None or core.weights.get(name, 0) > 0 or name not in core.backends:
            return
        closed = core.close_streams(core.backends[name])
        log.info("router: drain timeout for %s: closed %d open responses", name, closed)

    # -- observation ------------------------------------------------------------------------------------
    def backend_states(self) -> dict[str, BackendState]:
        core = self.core
        out: dict[str, BackendState] = {}
        for name, b in core.backends.items():
            if b.removed:
                continue
            weight = core.weights.get(name, 0)
            state = backend_state(weight, len(b.in_flight), b.down)
            out[name] = BackendState(name, b.url, weight, state, len(b.in_flight), state == "drained")
        return out

    def stats(self, window_s: float) -> dict[str, BackendWindow]:
        core = self.core
        names = sorted({*core.backends, *core.stats.series})
        return core.stats.windows(names, window_s)

    def synthetic_tag(self) -> tuple[str, str]:
        """The header and value that mark greenflag's analysis traffic (counted apart, routed by name)."""
        return SYNTHETIC_HEADER, self.synthetic_key

    def stats_export(self, since: float | None = None) -> list[dict[str, Any]]:
        """Each complete second of each backend kept (5 minutes), from Unix time `since` on: the JSON lines of
        `GET /stats/export` (docs/router.md)."""
        core = self.core
        offset = time.time() - time.monotonic()  # the stats' seconds are monotonic; lines carry Unix time
        first = 0 if since is None else int(since - offset)
        names = sorted({*core.backends, *core.stats.series})
        return [
            {"time": round(second + offset, 3), "backend": name, **line}
            for second, name, line in core.stats.export(names, first)
            if since is None or second + offset >= since
        ]

    def stats_json(self, window_s: float) -> dict[str, Any]:
        core = self.core
        return {
            "window_s": window_s,
            "backends": {name: window_to_json(w) for name, w in self.stats(window_s).items()},
            "router": {
                "rejected": core.rejected,
                "unrouted": core.unrouted,
                "retries": core.retries,
                "client_aborts": dict(core.client_aborts),
                "dropped": core.dropped,
            },
        }

    async def _sweep_loop(self) -> None:
        interval = min(0.25, self.spec.header_timeout / 4)
        while self._core is not None:
            self._core.sweep()
            await asyncio.sleep(interval)

    async def _health_loop(self) -> None:
        """Backends marked down are probed with a TCP connect until they answer."""
        while True:
            await asyncio.sleep(self._health_interval)
            core = self._core
            if core is None:
                return
            for backend in [b for b in core.backends.values() if b.down]:
                try:
                    conn = await core.open(backend)
                except (OSError, TimeoutError):
                    continue
                conn.close()
                backend.down = False
                backend.connect_failures = 0
                core.rebuild()


def _make_client(core: ProxyCore) -> asyncio.Protocol:
    from greenflag.traffic.embedded.client import ClientConnection

    return ClientConnection(core)
