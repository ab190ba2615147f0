"""The live dashboard: a page on 127.0.0.1 that redraws as a load run or a rollout goes on (Server-Sent Events).

dash = Dashboard("greenflag load run", port=0)
url = dash.start()            # its own thread and event loop, so a busy load generator does not delay it
dash.add_line(line)           # a closed time-series interval (any thread)
dash.set_statuses([...], {})  # rollout statuses and sampled weights (any thread)
dash.finish(); dash.stop()

GET /         the page: the report's stylesheet and chart script (greenflag.report.html), fed live
GET /events   text/event-stream: `model` (everything so far) on connect, then `points` (new intervals with the
              load's tables), `rollouts` (statuses), and `end` when the run is over
GET /model    the current model as JSON

It binds loopback only and serves no secret (read-only numbers of this run); there is no token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from typing import Any

from greenflag.report.html import page
from greenflag.report.model import load_model, point, report_model, rollouts_model

__all__ = ["Dashboard"]

_QUEUE = 256
_KEEPALIVE_S = 10.0


class Dashboard:
    def __init__(self, title: str = "greenflag dashboard", *, port: int = 0) -> None:
        self.title = title
        self.port = port
        self.url = ""
        self.lines: list[dict[str, Any]] = []
        self.summary: dict[str, Any] | None = None
        self.statuses: list[dict[str, Any]] = []
        self.samples: dict[int, list[dict[str, Any]]] = {}
        self.finished = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._subscribers: set[asyncio.Queue[tuple[str, Any]]] = set()

    # -- lifecycle (caller's thread) ---------------------------------------------------------------------------
    def start(self) -> str:
        """Bind 127.0.0.1:port (0: a free one) and serve in a background thread; returns the page's URL."""
        sock = socket.create_server(("127.0.0.1", self.port))  # binding here: a taken port fails in the caller
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(
            target=self._serve_thread, args=(sock,), name="greenflag-dashboard", daemon=True
        )
        self._thread.start()
        self._ready.wait(10.0)
        if self._error is not None:
            raise self._error
        return self.url

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None

    # -- feeds (any thread) ------------------------------------------------------------------------------------
    def add_line(self, line: dict[str, Any]) -> None:
        self._call(self._on_line, line)

    def set_summary(self, summary: dict[str, Any]) -> None:
        self._call(self._on_summary, summary)

    def set_statuses(self, statuses: list[dict[str, Any]], samples: dict[int, list[dict[str, Any]]]) -> None:
        self._call(self._on_statuses, [dict(s) for s in statuses], {k: list(v) for k, v in samples.items()})

    def finish(self) -> None:
        self._call(self._on_finish)

    def _call(self, fn: Any, *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
            loop.call_soon_threadsafe(fn, *args)

    # -- state (dashboard thread) ------------------------------------------------------------------------------
    def model(self) -> dict[str, Any]:
        model = report_model(
            title=self.title, summary=self.summary, lines=self.lines, statuses=self.statuses, samples=self.samples,
            live=True,
        )  # fmt: skip
        model["finished"] = self.finished
        model["now"] = time.time()
        return model

    def _publish(self, kind: str, data: Any) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait((kind, data))
            except asyncio.QueueFull:  # a slow page: start it over from the whole model
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(("model", self.model()))

    def _load_part(self) -> dict[str, Any]:
        return load_model(self.summary, self.lines, with_points=False)

    def _on_line(self, line: dict[str, Any]) -> None:
        self.lines.append(line)
        self._publish("points", {"points": [point(line)], "load": self._load_part()})

    def _on_summary(self, summary: dict[str, Any]) -> None:
        self.summary = summary
        self._publish("points", {"points": [], "load": self._load_part()})

    def _on_statuses(self, statuses: list[dict[str, Any]], samples: dict[int, list[dict[str, Any]]]) -> None:
        self.statuses, self.samples = statuses, samples
        self._publish("rollouts", {"rollouts": rollouts_model(statuses, samples), "now": time.time()})

    def _on_finish(self) -> None:
        self.finished = True
        self._publish("end", {})

    # -- the server (dashboard thread) -------------------------------------------------------------------------
    def _serve_thread(self, sock: socket.socket) -> None:
        try:
            asyncio.run(self._serve(sock))
        except BaseException as exc:  # reported to start() when it happens before the server is up
            self._error = exc
            self._ready.set()

    async def _serve(self, sock: socket.socket) -> None:
        from aiohttp import web

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/events", self._events)
        app.router.add_get("/model", self._model)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            for queue in list(self._subscribers):
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(("close", None))
            deadline = time.monotonic() + 2.0
            while self._subscribers and time.monotonic() < deadline:  # let pages get their last events
                await asyncio.sleep(0.02)
            await runner.cleanup()

    async def _page(self, request: Any) -> Any:
        from aiohttp import web

        boot = 'GF.live(document.getElementById("gf-root"), "events");'
        return web.Response(
            text=page(self.title, boot), content_type="text/html", headers={"Cache-Control": "no-store"}
        )

    async def _model(self, request: Any) -> Any:
        from aiohttp import web

        return web.json_response(self.model())

    async def _events(self, request: Any) -> Any:
        from aiohttp import web

        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=_QUEUE)
        self._subscribers.add(queue)
        try:
            await _send(response, "model", self.model())
            if self.finished:
                await _send(response, "end", {})
                return response
            while True:
                try:
                    kind, data = await asyncio.wait_for(queue.get(), _KEEPALIVE_S)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if kind == "close":
                    break
                await _send(response, kind, data)
                if kind == "end":
                    break
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self._subscribers.discard(queue)
        return response


async def _send(response: Any, kind: str, data: Any) -> None:
    text = json.dumps(data, separators=(",", ":"), default=str)
    await response.write(f"event: {kind}\ndata: {text}\n\n".encode())
