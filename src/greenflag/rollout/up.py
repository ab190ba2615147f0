"""`greenflag up`: the long-lived side — embedded router, process supervisor, controller loop, rollout API.

With `router.kind: embedded` the router runs in this process; with another kind (haproxy, nginx) `up` steers that
router through its driver instead.

up = Up(spec, api="127.0.0.1:0")
await up.start()          # router listening, API listening, `{state_dir}/up.json` written
await up.run(stop_event)  # ticks the controller until the event is set
await up.stop()           # API and router down; instances stopped unless keep_instances

Embedded in another program (tests, benches): `async with up.running(): final = await up.rollout("v2")`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from greenflag.errors import ConfigError, UsageError
from greenflag.rollout.api import make_api_app
from greenflag.rollout.controller import Controller
from greenflag.rollout.model import Status
from greenflag.rollout.runtime import (
    ControllerLock,
    InProcessRouter,
    check_router,
    make_spec_platform,
    resolve_paths,
    token_path,
)
from greenflag.rollout.store import Store
from greenflag.rollout.validate import check_analysis
from greenflag.spec import RouterSpec, Spec
from greenflag.traffic.base import Router
from greenflag.units import parse_host_port

__all__ = ["Up"]


class Up:
    def __init__(
        self,
        spec: Spec,
        *,
        api: str = "127.0.0.1:0",
        keep_instances: bool = False,
        tick_s: float = 0.2,
        collectors: Sequence[Callable[[Up], Any]] = (),
    ):
        self.spec = resolve_paths(spec)
        try:
            self.api_address = parse_host_port(api)
        except ValueError as exc:
            raise UsageError(f"--api: {exc}") from None
        self.keep_instances = keep_instances
        self.tick_s = tick_s
        self.lock = ControllerLock(self.spec.state_dir)
        self.router: Any = None  # the EmbeddedRouter, when router.kind is embedded
        self.driver: Router | None = None  # what the controller steers: the embedded router, or HAProxy, nginx...
        self.controller: Controller | None = None
        self._runner: Any = None
        self.api_url = ""
        self.collectors = list(collectors)  # factories of more series for the router admin's /metrics
        self.last_tick: float | None = None  # wall-clock time the controller last completed a tick
        self._wrote_info = False

    @property
    def router_url(self) -> str:
        if self.router is not None:
            return str(self.router.url)
        return self.spec.router.public_url() or ""

    @property
    def admin_url(self) -> str | None:
        """The embedded router's admin API (None for the other router kinds)."""
        return None if self.router is None else self.router.admin_url

    def _check_addresses(self) -> None:
        """ConfigError (exit 2, one line naming the key) when an address `up` listens on cannot be bound."""
        where = f"{self.spec.source}: " if self.spec.source is not None else ""
        router = self.spec.router  # another kind's addresses are its own router's to bind
        keys: list[tuple[str, str]] = []
        if isinstance(router, RouterSpec):
            keys = [("router.listen", router.listen), ("router.admin", router.admin)]
        for key, value in keys:
            try:
                address = parse_host_port(value)
                probe = socket.create_server(address, reuse_port=False)
            except ValueError as exc:
                raise ConfigError(f"{where}{key}: {exc}") from None
            except OSError as exc:
                reason = (exc.strerror or str(exc)).lower()
                raise ConfigError(f"{where}{key}: cannot listen on {value}: {reason}") from None
            probe.close()

    async def _start_router(self, token: str) -> None:
        """The embedded router in this process, or the driver of the configured router kind (never replaced)."""
        from greenflag.traffic.embedded.server import EmbeddedRouter

        router_spec = self.spec.router
        if isinstance(router_spec, RouterSpec):  # greenflag's own router, in this process
            empty = router_spec.model_copy(update={"backends": {}, "weights": {}})
            try:
                self.router = EmbeddedRouter(empty, admin_token=token, admin_token_file=token_path(self.spec))
            except ValueError as exc:  # e.g. the admin API beyond loopback with a weak token: one line, exit 2
                raise UsageError(str(exc)) from None
            try:
                await self.router.start()
            except OSError as exc:  # taken between the check and now
                raise ConfigError(f"router: cannot listen: {(exc.strerror or str(exc)).lower()}") from None
            self.driver = InProcessRouter(self.router)
            return
        from greenflag.traffic.registry import make_router  # HAProxy, nginx...: steered through its driver

        base = self.spec.source.parent if self.spec.source is not None else None
        try:
            self.driver = make_router(router_spec, base_dir=base)
        except ValueError as exc:
            raise UsageError(f"router: {exc}") from None
        await check_router(self.driver, self.spec)

    async def start(self) -> None:
        from aiohttp import web

        from greenflag.traffic.embedded.admin_token import load_or_create_token

        self.lock.acquire(f"greenflag up -f {self.spec.source or '?'}")
        self._check_addresses()
        check_analysis(self.spec)  # the spec's own checks first: before the router is reached or anything launched
        token = load_or_create_token(token_path(self.spec))
        await self._start_router(token)
        assert self.driver is not None
        store = Store.for_state_dir(self.spec.state_dir)
        platform = make_spec_platform(self.spec, store)
        self.controller = Controller(self.spec, router=self.driver, platform=platform, store=store, tick_s=self.tick_s)
        self.controller.attach()
        collectors = [make(self) for make in self.collectors]
        if self.router is not None:  # one scrape target: the embedded router's admin /metrics
            self.router.metric_collectors.extend(collectors)
            collectors = []
        self._runner = web.AppRunner(make_api_app(self.controller, token, collectors), access_log=None)
        await self._runner.setup()
        try:
            sock = socket.create_server(self.api_address)
        except OSError as exc:
            host, port = self.api_address
            raise UsageError(f"--api {host}:{port}: cannot listen: {(exc.strerror or str(exc)).lower()}") from None
        sock.setblocking(False)
        host, port = sock.getsockname()[:2]
        self.api_url = f"http://{host}:{port}"
        await web.SockSite(self._runner, sock).start()
        info = {"pid": os.getpid(), "api": self.api_url, "router": self.router_url, "admin": self.admin_url}
        path = Path(self.spec.state_dir) / "up.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(path)
        self._wrote_info = True

    async def run(self, stop: asyncio.Event) -> None:
        controller = self.controller
        assert controller is not None
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            began = loop.time()
            try:
                await controller.tick()
                self.last_tick = time.time()
            except Exception:  # the supervisor keeps running; the error is logged
                import logging

                logging.getLogger(__name__).exception("controller tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, self.tick_s - (loop.time() - began)))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Up]:
        """start(), the controller loop in a background task, and on leaving: the loop stopped, then stop()."""
        await self.start()
        stop = asyncio.Event()
        loop_task = asyncio.create_task(self.run(stop))
        try:
            yield self
        finally:
            stop.set()
            await loop_task
            await self.stop()

    async def rollout(self, version: str, *, timeout: float = 120.0) -> Status:
        """Start a rollout of `version` and wait until it is done (promoted or rolled back); needs the controller
        loop running (see running()). Raises TimeoutError after `timeout` seconds."""
        controller = self.controller
        if controller is None:
            raise RuntimeError("up is not started")
        started = controller.start(version)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            status = controller.store.load(started.rollout_id)
            if status is not None and status.done:
                return status
            if loop.time() > deadline:
                phase = status.phase if status is not None else "?"
                raise TimeoutError(f"rollout of {version} not done after {timeout:g}s (phase {phase})")
            await asyncio.sleep(self.tick_s / 2)

    async def stop(self) -> None:
        if self._wrote_info:  # never another `up`'s (e.g. after failing to take the lock)
            with contextlib.suppress(OSError):
                (Path(self.spec.state_dir) / "up.json").unlink()
            self._wrote_info = False
        if self._runner is not None:
            await self._runner.cleanup()
        if self.controller is not None:
            await self.controller.aclose()
            if not self.keep_instances:
                stop_all = getattr(self.controller.platform, "stop_all", None)
                if stop_all is not None:
                    await stop_all()
        if self.router is not None:
            await self.router.stop(grace=2.0)
        elif self.driver is not None:
            await self.driver.aclose()
        self.lock.release()
