"""The reference service `greenflag demo-app` as an aiohttp application: `build_app(AppOptions(...))`.

Routes: pages (`/`, `/about`, `/pricing`, `/contact`, `/contact/thanks`), the JSON API (`/api/…`), the
SSE stream (`/events`) and the operations endpoints (`/healthz/live`, `/healthz/ready`, `/version`,
`/metrics`). One middleware does the per-request work: metrics, `--crash-after`, the start-up gate and
the fault options. Operations endpoints are exempt from faults, crashes and the gate, so probes see the
truth. Every response carries `X-Greenflag-Version`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

import greenflag
from greenflag.demo import api, pages, sse
from greenflag.demo.instruments import CONTENT_TYPE
from greenflag.demo.options import AppOptions
from greenflag.demo.state import STATE, DemoState

__all__ = ["OPS_PATHS", "STATE", "VERSION_HEADER", "AppOptions", "DemoState", "build_app"]

VERSION_HEADER = "X-Greenflag-Version"
OPS_PATHS = frozenset({"/healthz/live", "/healthz/ready", "/version", "/metrics"})
_JSON = {"Content-Type": "application/json", "Cache-Control": "no-store"}
_UNMATCHED = "(unmatched)"


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else _UNMATCHED


def _make_middleware(state: DemoState) -> Middleware:
    faults = state.faults
    metrics = state.metrics
    starting = json.dumps({"error": "starting", "version": state.version}).encode()
    injected = json.dumps({"error": "injected fault (--error-rate)", "version": state.version}).encode()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        began = time.perf_counter()
        path = _route_name(request)
        status = 500
        metrics.in_flight += 1
        try:
            if path not in OPS_PATHS:
                if faults.counting and faults.count_request():
                    state.crash()
                started = state.started_at
                if started is None:
                    status = 503
                    return web.Response(status=503, body=starting, headers={**_JSON, "Retry-After": "1"})
                if faults.active:
                    decision = faults.decide(asyncio.get_running_loop().time() - started)
                    if decision.delay_s > 0:
                        metrics.fault("latency")
                        await asyncio.sleep(decision.delay_s)
                    if decision.fail:
                        status = 500
                        metrics.fault("error")
                        return web.Response(status=500, body=injected, headers=_JSON)
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.in_flight -= 1
            metrics.observe(request.method, path, status, time.perf_counter() - began)

    return middleware


def _ops_handlers(state: DemoState) -> dict[str, Handler]:
    version_body = json.dumps(
        {"version": state.version, "name": "greenflag-demo-app", "greenflag": greenflag.__version__}
    ).encode()
    live_body = json.dumps({"status": "live", "version": state.version}).encode()

    async def live(request: web.Request) -> web.Response:
        return web.Response(body=live_body, headers=_JSON)

    async def ready(request: web.Request) -> web.Response:
        status = state.readiness()
        body = {"status": status, "version": state.version}
        if state.startup_error is not None:
            body["error"] = str(state.startup_error)
        return web.Response(status=200 if status == "ready" else 503, body=json.dumps(body).encode(), headers=_JSON)

    async def version(request: web.Request) -> web.Response:
        return web.Response(body=version_body, headers=_JSON)

    async def metrics(request: web.Request) -> web.Response:
        state.metrics.ready.set(1 if state.ready else 0)
        return web.Response(body=state.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    return {"/healthz/live": live, "/healthz/ready": ready, "/version": version, "/metrics": metrics}


def build_app(options: AppOptions, *, on_crash: Callable[[int], None] | None = None) -> web.Application:
    """The reference service. Start-up work (database, `--startup-delay-s`) runs in the background once the
    app starts; `/healthz/ready` answers 200 when it is done. `on_crash(served)` replaces the process exit
    of `--crash-after` (for in-process tests)."""
    problems = options.problems()
    if problems:
        raise ValueError("; ".join(problems))
    state = DemoState(options, on_crash=on_crash)
    app = web.Application(middlewares=[_make_middleware(state)])
    app[STATE] = state

    version = state.version

    async def add_version_header(request: web.Request, response: web.StreamResponse) -> None:
        response.headers[VERSION_HEADER] = version

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        state.startup_task = asyncio.create_task(state.start_up(), name="demo-app start-up")
        yield
        await state.close()

    async def on_shutdown(app: web.Application) -> None:
        state.begin_stop()

    app.on_response_prepare.append(add_version_header)
    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(on_shutdown)
    for path, handler in _ops_handlers(state).items():
        app.router.add_get(path, handler)
    pages.add_routes(app)
    api.add_routes(app)
    sse.add_routes(app)
    return app
