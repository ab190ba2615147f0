"""Wiring: a Controller from a spec (router, platform, journal), the controller lock, `up` discovery.

status = await run_rollout(spec, "v2")                       # in-process, to the end
status = await run_rollout(spec, "v2", router=my_router)     # e.g. an EmbeddedRouter via InProcessRouter
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

from greenflag.errors import UsageError
from greenflag.platform.base import Platform
from greenflag.platform.process import pid_alive
from greenflag.rollout.controller import Controller
from greenflag.rollout.model import Status
from greenflag.rollout.store import Store
from greenflag.spec import RouterSpec, Spec
from greenflag.traffic.base import BackendWindow, Router, Weights

__all__ = [
    "ControllerLock",
    "InProcessRouter",
    "make_controller",
    "make_spec_platform",
    "read_up_info",
    "resolve_paths",
    "run_rollout",
    "token_path",
]


def resolve_paths(spec: Spec) -> Spec:
    """Make `state_dir` absolute (relative paths are relative to greenflag.yaml's directory)."""
    base = spec.source.parent if spec.source is not None else Path.cwd()
    state = Path(spec.state_dir)
    if not state.is_absolute():
        spec.state_dir = str((base / state).resolve())
    return spec


def token_path(spec: Spec) -> Path:
    """The bearer token of the embedded router's admin API and of `up`'s rollout API (`{state_dir}/token` when
    the router is not the embedded one)."""
    router = spec.router
    path = Path(router.admin_token_file) if isinstance(router, RouterSpec) else Path(spec.state_dir) / "token"
    if path.is_absolute():
        return path
    base = spec.source.parent if spec.source is not None else Path.cwd()
    return base / path


class InProcessRouter:
    """The Router protocols over an `EmbeddedRouter` running in this event loop (no admin API hop)."""

    def __init__(self, router: Any) -> None:
        self.router = router

    async def apply(self, weights: Weights) -> None:
        self.router.set_weights(dict(weights))

    async def observe(self) -> Weights | None:
        return dict(self.router.weights())

    async def reset(self, stable: str | None = None) -> None:
        self.router.reset(stable)

    async def aclose(self) -> None:
        return None

    async def set_backends(self, backends: dict[str, str]) -> None:
        self.router.set_backends(dict(backends))

    async def set_header_route(self, backend: str | None) -> None:
        self.router.set_header_route(backend)

    async def stats(self, window_s: float) -> dict[str, BackendWindow]:
        result: dict[str, BackendWindow] = self.router.stats(window_s)
        return result

    async def stats_export(self, since: float | None = None) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = self.router.stats_export(since)
        return lines

    async def open_requests(self) -> dict[str, int]:
        return {name: state.in_flight for name, state in self.router.backend_states().items()}

    def synthetic_tag(self) -> tuple[str, str]:
        tag: tuple[str, str] = self.router.synthetic_tag()
        return tag

    @property
    def url(self) -> str:
        """Where clients reach the router (analysis traffic is sent there)."""
        return str(self.router.url)


class ControllerLock:
    """One controller per state directory (an flock on `controller.lock`, released when the process dies)."""

    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / "controller.lock"
        self._fh: IO[str] | None = None

    def acquire(self, who: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held for the life of the controller
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise UsageError(f"{self.path.parent}: a controller is already running ({holder})") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{who}, pid {os.getpid()}")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def read_up_info(spec: Spec) -> dict[str, Any] | None:
    """`greenflag up`'s address file ({pid, api}) when that process is alive, else None."""
    path = Path(spec.state_dir) / "up.json"
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return info if pid_alive(int(info.get("pid", 0))) else None


def make_spec_platform(spec: Spec, store: Store) -> Platform:
    """The platform the spec names; slots behind an ALB get their targets registered in its target groups."""
    from greenflag.platform.registry import make_platform

    slot_targets = None
    if spec.platform.kind == "slots" and spec.router.kind == "alb":
        from greenflag.spec import AlbRouterSpec, SlotsPlatformSpec
        from greenflag.traffic.alb_targets import AlbSlotTargets

        assert isinstance(spec.router, AlbRouterSpec) and isinstance(spec.platform, SlotsPlatformSpec)
        slot_targets = AlbSlotTargets(spec.router, spec.platform)
    return make_platform(spec, store, slot_targets=slot_targets)


def make_controller(
    spec: Spec,
    *,
    router: Router | None = None,
    platform: Platform | None = None,
    store: Store | None = None,
    tick_s: float = 0.2,
    on_status: Callable[[Status], Awaitable[None] | None] | None = None,
) -> Controller:
    """A Controller for `spec`; the router defaults to the spec's router driver (an external router)."""
    resolve_paths(spec)
    store = store or Store.for_state_dir(spec.state_dir)
    if platform is None:
        platform = make_spec_platform(spec, store)
    if router is None:
        from greenflag.traffic.registry import make_router

        base = spec.source.parent if spec.source is not None else None
        try:
            router = make_router(spec.router, base_dir=base)
        except ValueError as exc:
            raise UsageError(f"router: {exc}") from None
    return Controller(spec, router=router, platform=platform, store=store, tick_s=tick_s, on_status=on_status)


async def check_router(router: Router, spec: Spec) -> None:
    """Fail fast (exit 2) when the router cannot be reached."""
    try:
        await router.observe()
    except Exception as exc:  # any failure means: not reachable
        if isinstance(spec.router, RouterSpec):
            raise UsageError(
                f"router.admin {spec.router.admin}: cannot reach the router ({exc}); run `greenflag up -f FILE` "
                "(or `greenflag router serve`) first"
            ) from None
        raise UsageError(f"router ({spec.router.kind}): cannot reach the router: {exc}") from None


async def run_rollout(
    spec: Spec,
    version: str | None,
    *,
    router: Router | None = None,
    platform: Platform | None = None,
    on_status: Callable[[Status], Awaitable[None] | None] | None = None,
    tick_s: float = 0.2,
) -> Status:
    """Run a rollout of `version` in this process to its end (None: resume the journaled one)."""
    controller = make_controller(spec, router=router, platform=platform, tick_s=tick_s, on_status=on_status)
    lock = ControllerLock(spec.state_dir)
    lock.acquire("greenflag rollout (in-process)")
    try:
        await check_router(controller.router, spec)
        if version is not None:
            controller.start(version)
        elif controller.attach() is None:
            raise UsageError(f"no rollout of {spec.service} to resume; use `greenflag rollout start`")
        return await controller.run()
    finally:
        await controller.aclose()
        if router is None:
            await controller.router.aclose()
        lock.release()
