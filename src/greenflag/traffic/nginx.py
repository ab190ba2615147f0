"""`NginxRouter`: the Router driver for nginx (`router.kind: nginx`): it owns one upstream file.

Every change renders the whole file (`nginx_conf.py`, pure), writes it atomically (a temporary file renamed over
it, under a lock), runs the `test` command (`nginx -t`: when it fails, the previous file is put back and nothing
is reloaded), runs the `reload` command (`nginx -s reload`: new workers start with the file, old ones finish their
requests) and waits until the status URL answers the new file's generation: only then has the change taken.

- **Weights**: every slot gets a weight on every change (a backend not named gets 0, written `down`).
- **Read-back**: `observe()` parses the live file and asks the status URL which generation nginx's workers run;
  a file that is not greenflag's rendering, or a generation nginx is not running, is None ("cannot say").
- **Slots**: `servers` are the slots with their first addresses; `set_backends` points a free slot at a version's
  address (the file is rendered again); a slot taken out is written `down`.
- **Header route**: `map $http_x_greenflag_route …` to one upstream per slot; pinning sends every request carrying
  the header there.
- **Stats**: from the JSON access log, when `access_log` is set (`nginx_log.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from greenflag.spec import NginxRouterSpec
from greenflag.traffic.base import BackendWindow, Weights
from greenflag.traffic.nginx_conf import UpstreamState, generation_of, parse_upstream, render_upstream
from greenflag.traffic.nginx_log import AccessLog
from greenflag.traffic.nginx_workers import accepting, master_pid, workers
from greenflag.traffic.slots import SlotError, assign, complete_weights, url_address

__all__ = ["NginxError", "NginxRouter", "NginxStatsRouter", "make_nginx_router"]

SETTLE_S = 0.25  # without pid_file: how long only the new generation must answer before a change counts


class NginxError(ConnectionError):
    """nginx refused the change, did not reload, or cannot be read back; the message says which."""


def _resolve(path: str, base_dir: str | Path | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base_dir is None else Path(base_dir) / p


class NginxRouter:
    """Router, BackendManager and HeaderRouting over one nginx upstream file."""

    def __init__(
        self, spec: NginxRouterSpec, *, base_dir: str | Path | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.spec = spec
        self.path = _resolve(spec.upstream_file, base_dir)
        self.pid_file = None if spec.pid_file is None else _resolve(spec.pid_file, base_dir)
        self.log = None if spec.access_log is None else AccessLog(_resolve(spec.access_log, base_dir), clock=clock)
        if self.log is not None:
            self.log.read(lambda _address: None)  # windows start now: earlier lines are not this driver's story
        self._session: aiohttp.ClientSession | None = None

    # -- the file -------------------------------------------------------------------------------------------
    def initial_state(self) -> UpstreamState:
        """What the file holds before greenflag's first change: the spec's slots and weights (else all on the
        first slot), every slot carrying its own name."""
        weights = dict(self.spec.weights) or {next(iter(self.spec.servers)): 100}
        return UpstreamState(
            upstream=self.spec.upstream,
            route_header=self.spec.route_header,
            slots=dict(self.spec.servers),
            weights={slot: weights.get(slot, 0) for slot in self.spec.servers},
            names={slot: slot for slot in self.spec.servers},
            keepalive=self.spec.keepalive,
        )

    def _read(self) -> tuple[str | None, UpstreamState | None]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            raise NginxError(f"router.upstream_file {self.path}: cannot read: {exc.strerror}") from None
        return text, parse_upstream(text)

    def _state(self) -> UpstreamState:
        text, state = self._read()
        if text is None:
            return self.initial_state()
        if state is None:
            raise NginxError(f"router.upstream_file {self.path}: not the file greenflag wrote (edited by hand?)")
        if set(state.slots) != set(self.spec.servers) or state.upstream != self.spec.upstream:
            return replace(  # router.servers changed since: keep the addresses of the slots still there
                self.initial_state(),
                slots={s: state.slots.get(s, a) for s, a in self.spec.servers.items()},
            )
        return state

    @contextlib.asynccontextmanager
    async def _lock(self) -> AsyncIterator[None]:
        """One writer at a time (several greenflag processes may steer one nginx): an flock beside the file."""
        lock = self.path.with_name(self.path.name + ".lock")
        deadline = time.monotonic() + self.spec.timeout
        with open(lock, "a") as fh:
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise NginxError(f"{lock}: another greenflag process holds it") from None
                    await asyncio.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _write_file(self, text: str | None) -> None:
        if text is None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    async def _run(self, what: str, argv: list[str]) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
        except OSError as exc:
            raise NginxError(f"router.{what}: cannot run {argv[0]!r}: {exc.strerror or exc}") from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.spec.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise NginxError(f"router.{what}: {' '.join(argv)} did not finish in {self.spec.timeout:g}s") from None
        if proc.returncode != 0:
            lines = [ln for ln in (err or out).decode(errors="replace").splitlines() if ln.strip()]
            detail = next((ln for ln in lines if "emerg" in ln or "error" in ln), lines[0] if lines else "")
            raise NginxError(f"router.{what}: {' '.join(argv)} failed (exit {proc.returncode}): {detail.strip()}")

    async def _commit(self, state: UpstreamState) -> None:
        """Write, test, reload, confirm; on a failed test or reload the previous file is back in place."""
        try:
            text = render_upstream(state)
        except ValueError as exc:
            raise ValueError(f"router: {exc}") from None
        generation = generation_of(text)
        async with self._lock():
            old, _ = self._read()
            if old == text and await self.live_generation() == generation:
                return  # already written and running
            self._write_file(text)
            try:
                await self._run("test", self.spec.test)
                previous = self._workers()
                await self._run("reload", self.spec.reload)
            except NginxError:
                self._write_file(old)
                raise
        await self._confirm(generation, previous)

    def _workers(self) -> set[int] | None:
        """The workers running now (with `pid_file`, on this host); None when they cannot be seen."""
        if self.pid_file is None:
            return None
        master = master_pid(self.pid_file)
        return None if master is None else workers(master)

    async def _confirm(self, generation: str | None, previous: set[int] | None) -> None:
        """Until the status URL answers `generation` and the previous workers take no new connection: with
        `pid_file`, until each has exited or is shutting down; else until no answer of the previous generation
        came for SETTLE_S (nginx lets both generations accept for about 100 ms)."""
        deadline = time.monotonic() + self.spec.timeout
        since: float | None = None
        while True:
            live, now = await self.live_generation(), time.monotonic()
            since = (since or now) if live == generation else None
            if since is not None and (accepting(previous) == set() if previous else now - since >= SETTLE_S):
                return
            if now > deadline:
                raise NginxError(
                    f"nginx reloaded but router.status_url {self.spec.status_url} answers generation {live!r}, "
                    f"not only {generation!r}, after {self.spec.timeout:g}s: the change has not taken"
                )
            await asyncio.sleep(0.02)

    async def live_generation(self) -> str | None:
        """The generation nginx's workers answer at the status URL (a new connection each time), or None."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True), timeout=aiohttp.ClientTimeout(total=2.0)
            )
        try:
            async with self._session.get(self.spec.status_url) as resp:
                body = (await resp.text()).strip()
                return body if resp.status == 200 else None
        except (aiohttp.ClientError, TimeoutError):
            return None

    # -- Router ---------------------------------------------------------------------------------------------
    async def observe(self) -> Weights | None:
        text, state = self._read()
        if text is None or state is None or await self.live_generation() != generation_of(text):
            return None
        return {name: state.weights[slot] for name, slot in state.names.items()}

    async def apply(self, weights: Weights) -> None:
        state = self._state()
        try:
            wanted = complete_weights(state.names, weights)
        except SlotError as exc:
            raise ValueError(str(exc)) from None
        by_slot = {slot: 0 for slot in state.slots}
        by_slot.update({state.names[name]: w for name, w in wanted.items()})
        await self._commit(replace(state, weights=by_slot))

    async def reset(self, stable: str | None = None) -> None:
        state = self._state()
        if stable is not None:
            await self.apply({stable: 100})
        elif self.spec.weights:
            await self.apply({n: w for n, w in self.spec.weights.items() if n in state.names})
        await self.set_header_route(None)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- BackendManager, HeaderRouting ------------------------------------------------------------------------
    async def set_backends(self, backends: dict[str, str]) -> None:
        """Point slots at `backends` (name → http://HOST:PORT); new ones start at weight 0, removed ones go down."""
        state = self._state()
        try:
            addresses = {name: url_address(url) for name, url in backends.items()}
            mapping = assign(state.slots, addresses)
        except SlotError as exc:
            raise ValueError(f"router.servers: {exc}") from None
        self._read_log(state)  # lines logged so far belong to the backends as they were
        slots, weights = dict(state.slots), dict(state.weights)
        for slot in state.slots:
            if slot not in mapping.values():
                weights[slot] = 0
        for name, slot in mapping.items():
            if slots[slot] != addresses[name]:  # pointed at another version: it starts at 0
                slots[slot], weights[slot] = addresses[name], 0
        pinned = state.pinned if state.pinned in mapping.values() else None
        await self._commit(replace(state, slots=slots, weights=weights, names=dict(mapping), pinned=pinned))

    async def set_header_route(self, backend: str | None) -> None:
        state = self._state()
        if backend is not None and backend not in state.names:
            raise ValueError(f"unknown backend {backend!r} (known: {', '.join(state.names)})")
        await self._commit(replace(state, pinned=None if backend is None else state.names[backend]))

    async def header_route(self) -> str | None:
        state = self._state()
        return next((n for n, s in state.names.items() if s == state.pinned), None)

    async def backends(self) -> dict[str, dict[str, Any]]:
        """name → {slot, address, weight, state (active|down), live (nginx runs this file)}."""
        text, state = self._read()
        if state is None:
            return {}
        live = await self.live_generation() == generation_of(text or "")
        return {
            name: {
                "slot": slot,
                "address": state.slots[slot],
                "weight": state.weights[slot],
                "state": "active" if state.weights[slot] > 0 else "down",
                "live": live,
            }
            for name, slot in state.names.items()
        }

    def _read_log(self, state: UpstreamState) -> None:
        if self.log is not None:
            owners = {state.slots[slot]: name for name, slot in state.names.items()}
            self.log.read(owners.get)


class NginxStatsRouter(NginxRouter):
    """NginxRouter with RouterStats: per-backend windows from nginx's JSON access log (`router.access_log`)."""

    async def stats(self, window_s: float) -> dict[str, BackendWindow]:
        assert self.log is not None
        state = self._state()
        self._read_log(state)
        return self.log.windows(list(state.names), window_s)


def make_nginx_router(spec: NginxRouterSpec, *, base_dir: str | Path | None = None, **options: Any) -> NginxRouter:
    """The driver for `router.kind: nginx`; with `access_log` it also reports per-backend stats."""
    cls = NginxStatsRouter if spec.access_log is not None else NginxRouter
    return cls(spec, base_dir=base_dir, **options)
