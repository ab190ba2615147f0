"""The admin API of the embedded router (aiohttp.web, its own listener). Every endpoint needs the bearer token.

GET/PUT /weights · GET/PUT /backends · GET/PUT /header-route · POST /reset · GET /stats?window=10s ·
GET /stats/export?since=UNIX (JSON lines) · GET /metrics (Prometheus) · GET /healthz. JSON shapes are documented
in docs/router.md.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from greenflag.units import parse_duration

if TYPE_CHECKING:
    from greenflag.traffic.embedded.protocols import AdminRouter

__all__ = ["make_admin_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ROUTER_KEY: web.AppKey[AdminRouter] = web.AppKey("router")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _auth_middleware(token: str) -> Any:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            return web.json_response(
                {"error": "missing or wrong bearer token"}, status=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return await handler(request)

    return auth


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body is not JSON"}), content_type="application/json"
        ) from None


async def get_weights(request: web.Request) -> web.Response:
    return web.json_response(request.app[ROUTER_KEY].weights())


async def put_weights(request: web.Request) -> web.Response:
    router = request.app[ROUTER_KEY]
    body = await _json_body(request)
    if not isinstance(body, dict):
        return _error(400, "expected a JSON object: backend name → integer weight")
    try:
        router.set_weights(body)
    except ValueError as exc:
        return _error(400, str(exc))
    return web.json_response(router.weights())


async def get_backends(request: web.Request) -> web.Response:
    states = request.app[ROUTER_KEY].backend_states()
    return web.json_response({name: s.to_json() for name, s in states.items()})


async def put_backends(request: web.Request) -> web.Response:
    router = request.app[ROUTER_KEY]
    body = await _json_body(request)
    if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
        return _error(400, "expected a JSON object: backend name → http://HOST:PORT")
    try:  # checked (resolved off the event loop for hostnames) before anything changes: all or nothing
        addresses = await asyncio.get_running_loop().run_in_executor(None, router.resolve_backends, body)
        router.set_backends(body, addresses)
    except ValueError as exc:
        return _error(400, str(exc))
    return await get_backends(request)


async def get_header_route(request: web.Request) -> web.Response:
    router = request.app[ROUTER_KEY]
    return web.json_response({"backend": router.header_route(), "header": router.spec.route_header})


async def put_header_route(request: web.Request) -> web.Response:
    router = request.app[ROUTER_KEY]
    body = await _json_body(request)
    backend = body.get("backend") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not (backend is None or isinstance(backend, str)):
        return _error(400, 'expected {"backend": NAME or null}')
    try:
        router.set_header_route(backend)
    except ValueError as exc:
        return _error(400, str(exc))
    return await get_header_route(request)


async def post_reset(request: web.Request) -> web.Response:
    router = request.app[ROUTER_KEY]
    body = await _json_body(request)
    stable = body.get("stable") if isinstance(body, dict) else None
    if stable is not None and not isinstance(stable, str):
        return _error(400, 'expected {"stable": NAME or null}')
    try:
        router.reset(stable)
    except ValueError as exc:
        return _error(400, str(exc))
    return web.json_response(router.weights())


async def get_stats(request: web.Request) -> web.Response:
    text = request.query.get("window", "10s")
    try:
        window = parse_duration(text)
    except ValueError as exc:
        return _error(400, f"window: {exc}")
    if not 1 <= window <= 300:
        return _error(400, "window: must be between 1s and 300s")
    return web.json_response(request.app[ROUTER_KEY].stats_json(window))


async def get_stats_export(request: web.Request) -> web.Response:
    """Per second and backend, the kept seconds (JSON lines): what `greenflag analysis replay --stats` reads."""
    text = request.query.get("since")
    since: float | None = None
    if text is not None:
        try:
            since = float(text)
        except ValueError:
            return _error(400, f"since: expected Unix seconds, got {text!r}")
    lines = request.app[ROUTER_KEY].stats_export(since)
    body = "".join(json.dumps(line, separators=(", ", ": ")) + "\n" for line in lines)
    return web.Response(text=body, content_type="application/x-ndjson")


async def get_metrics(request: web.Request) -> web.Response:
    from greenflag.traffic.embedded.exposition import render_metrics

    body, content_type = render_metrics(request.app[ROUTER_KEY])
    return web.Response(body=body, headers={"Content-Type": content_type})


async def get_healthz(request: web.Request) -> web.Response:
    router = request.app[ROUTER_KEY]
    return web.json_response({"ok": True, "listen": router.url})


def make_admin_app(router: AdminRouter, token: str) -> web.Application:
    """The admin API for `router`; requests without `Authorization: Bearer <token>` get 401."""
    if not token:
        raise ValueError("the admin token is empty")
    app = web.Application(middlewares=[_auth_middleware(token)], client_max_size=1024 * 1024)
    app[ROUTER_KEY] = router
    app.router.add_get("/weights", get_weights)
    app.router.add_put("/weights", put_weights)
    app.router.add_get("/backends", get_backends)
    app.router.add_put("/backends", put_backends)
    app.router.add_get("/header-route", get_header_route)
    app.router.add_put("/header-route", put_header_route)
    app.router.add_post("/reset", post_reset)
    app.router.add_get("/stats", get_stats)
    app.router.add_get("/stats/export", get_stats_export)
    app.router.add_get("/metrics", get_metrics)
    app.router.add_get("/healthz", get_healthz)
    return app
