"""Run the reference service until SIGTERM/SIGINT, then shut down gracefully.

Shutdown order (aiohttp's runner): stop listening → readiness false and SSE streams end → wait up to
`shutdown_timeout_s` for in-flight requests → close the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable

from aiohttp import web

from greenflag.demo.app import build_app
from greenflag.demo.options import AppOptions
from greenflag.demo.state import STATE

__all__ = ["StartupFailed", "listen_url", "serve"]


class StartupFailed(RuntimeError):
    """The start-up work (opening the database) failed."""


def listen_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _announce(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def serve(options: AppOptions, *, announce: Callable[[str], None] = _announce) -> None:
    """Serve until a signal arrives. Prints `listening on http://HOST:PORT` once the socket is bound
    (before start-up work completes: poll `/healthz/ready`). Raises StartupFailed if start-up work fails."""
    app = build_app(options)
    state = app[STATE]
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=options.shutdown_timeout_s)
    await runner.setup()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    try:
        site = web.TCPSite(runner, options.host, options.port, backlog=2048, reuse_address=True)
        await site.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
        port = int(runner.addresses[0][1])
        announce(f"listening on {listen_url(options.host, port)}")
        if state.startup_task is not None:
            state.startup_task.add_done_callback(lambda _task: stop.set() if state.startup_error else None)
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        error = state.startup_error
        await runner.cleanup()
    if error is not None:
        raise StartupFailed(str(error))
