"""What one running reference service knows about itself, shared by its handlers through `STATE`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable

from aiohttp import web

from greenflag.demo.faults import Faults
from greenflag.demo.instruments import DemoMetrics
from greenflag.demo.options import AppOptions
from greenflag.demo.store import Store
from greenflag.demo.templates import Pages

__all__ = ["CRASH_EXIT_CODE", "STATE", "DemoState", "crash_process"]

CRASH_EXIT_CODE = 1


def crash_process(served: int) -> None:
    """`--crash-after`: die at once, as a crashing process does (no shutdown, connections reset)."""
    sys.stderr.write(f"greenflag demo-app: crashing on purpose after {served - 1} requests (--crash-after)\n")
    sys.stderr.flush()
    os._exit(CRASH_EXIT_CODE)


class DemoState:
    """Options, prepared pages, fault plan, metrics, the database and the life-cycle flags of one app."""

    def __init__(self, options: AppOptions, on_crash: Callable[[int], None] | None = None) -> None:
        self.options = options
        self.version = options.version
        self.pages = Pages(options.version)
        self.faults = Faults(options)
        self.metrics = DemoMetrics(options.version)
        self.csrf_secret = options.csrf_secret.encode()
        self.on_crash = on_crash or crash_process
        self.store: Store | None = None
        self.started_at: float | None = None  # loop time when start-up work completed
        self.startup_error: BaseException | None = None
        self.startup_task: asyncio.Task[None] | None = None
        self.stopping = False
        self.sse_waiters: set[asyncio.Future[None]] = set()
        self._temp_db: str | None = None

    @property
    def ready(self) -> bool:
        return self.started_at is not None and not self.options.fail_readiness and not self.stopping

    def readiness(self) -> str:
        if self.stopping:
            return "stopping"
        if self.startup_error is not None:
            return "failed"
        if self.started_at is None:
            return "starting"
        return "failing" if self.options.fail_readiness else "ready"

    async def start_up(self) -> None:
        """The start-up work: open (and seed) the database, then `--startup-delay-s`; then the app is ready."""
        try:
            path = self.options.db
            if path is None:
                fd, path = tempfile.mkstemp(prefix=f"greenflag-demo-{os.getpid()}-", suffix=".sqlite3")
                os.close(fd)
                self._temp_db = path
            store = Store(path)
            await store.open(self.options.seed_items)
            self.store = store
            if self.options.startup_delay_s > 0:
                await asyncio.sleep(self.options.startup_delay_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.startup_error = exc  # readiness reports it; `serve` stops the process
            return
        self.started_at = asyncio.get_running_loop().time()
        self.metrics.ready.set(1 if self.ready else 0)

    def begin_stop(self) -> None:
        """SIGTERM: readiness turns false and every SSE stream ends after its current event."""
        self.stopping = True
        self.metrics.ready.set(0)
        for waiter in self.sse_waiters:
            if not waiter.done():
                waiter.set_result(None)

    def crash(self) -> None:
        """`--crash-after` reached: remove the temporary database (nobody else can use it), then crash."""
        self._remove_temp_db()
        self.on_crash(self.faults.served)

    def _remove_temp_db(self) -> None:
        if self._temp_db is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._temp_db + suffix)
            self._temp_db = None

    async def close(self) -> None:
        self.begin_stop()
        if self.startup_task is not None and not self.startup_task.done():
            self.startup_task.cancel()
            with contextlib.suppress(BaseException):
                await self.startup_task
        if self.store is not None:
            await self.store.close()
            self.store = None
        self._remove_temp_db()


STATE = web.AppKey("greenflag_demo_state", DemoState)
