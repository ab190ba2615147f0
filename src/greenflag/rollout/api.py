"""`greenflag up`'s rollout API (aiohttp, bearer token) and the CLI's client for it.

GET  /api/status              → the latest rollout's status (JSON as `rollout status --json`; weights read back)
GET  /api/history?limit=N     → {"rollouts": [status, ...]} newest first
POST /api/rollouts            {"version": "v2"} | {"undo": true} | {"retry": true}, and optionally "spec": the caller's
                              spec as JSON (refused, 400, naming the keys that differ from up's) → status (409 if busy)
POST /api/commands            {"kind": "promote" | "promote_full" | "abort" | "resume"} → status
"""

from __future__ import annotations

import asyncio
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from greenflag.errors import GreenflagError, UsageError
from greenflag.rollout.controller import Controller, spec_json
from greenflag.rollout.ops import post_command, retry_version, status_json, undo_version
from greenflag.spec import differences

__all__ = ["ApiClient", "make_api_app"]


def make_api_app(controller: Controller, token: str, collectors: Sequence[Any] = ()) -> Any:
    """up's API app; with `collectors` (prometheus-client collectors) it also serves `GET /metrics`."""
    from aiohttp import web

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return web.json_response({"error": "unauthorized: wrong or missing token"}, status=401)
        try:
            return await handler(request)
        except GreenflagError as exc:
            busy = "in progress" in str(exc)
            return web.json_response({"error": str(exc)}, status=409 if busy else 400)

    store, service = controller.store, controller.spec.service

    async def get_status(request: web.Request) -> web.Response:
        try:  # the weights the router holds now, not the intended ones
            read_back = await asyncio.wait_for(controller.router.observe(), 2.0)
        except Exception:  # the journal's last read-back is shown instead (weights_source: journal)
            read_back = None
        return web.json_response(status_json(store.latest(service), read_back))

    async def get_history(request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", "20"))
        return web.json_response({"rollouts": [s.to_json() for s in store.history(service, limit)]})

    async def post_rollouts(request: web.Request) -> web.Response:
        body = await _json(request)
        given = body.get("spec")
        if given is not None:  # the caller's spec must be the one this `up` runs (never silently another)
            changed = differences(spec_json(controller.spec), given)
            if changed:
                shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
                raise UsageError(
                    f"the spec differs from the one `greenflag up` runs ({controller.spec.source}) in {shown}; "
                    "restart `greenflag up` with this file to use it, or start the rollout with that file"
                )
        if body.get("undo"):
            version = undo_version(store, service)
        elif body.get("retry"):
            version = retry_version(store, service)
        else:
            version = str(body.get("version") or "")
        return web.json_response(controller.start(version).to_json(), status=201)

    async def post_commands(request: web.Request) -> web.Response:
        body = await _json(request)
        return web.json_response(post_command(store, service, str(body.get("kind", ""))).to_json())

    app = web.Application(middlewares=[auth])
    app.router.add_get("/api/status", get_status)
    app.router.add_get("/api/history", get_history)
    app.router.add_post("/api/rollouts", post_rollouts)
    app.router.add_post("/api/commands", post_commands)
    if collectors:
        app.router.add_get("/metrics", _metrics_handler(collectors))
    return app


def _metrics_handler(collectors: Sequence[Any]) -> Any:
    """GET /metrics: the Prometheus exposition of `collectors`."""
    from aiohttp import web
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    async def get_metrics(request: web.Request) -> web.Response:
        registry = CollectorRegistry(auto_describe=False)
        for collector in collectors:
            registry.register(collector)
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return get_metrics


async def _json(request: Any) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise UsageError("request body: expected a JSON object") from None
    if not isinstance(body, dict):
        raise UsageError("request body: expected a JSON object")
    return body


class ApiClient:
    """Blocking client for the CLI (urllib; one call per command)."""

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                result: dict[str, Any] = json.loads(response.read())
                return result
        except urllib.error.HTTPError as err:
            try:
                message = json.loads(err.read()).get("error", err.reason)
            except ValueError:
                message = str(err.reason)
            raise UsageError(f"greenflag up ({self.url}): {message}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise GreenflagError(f"greenflag up ({self.url}) unreachable: {exc}") from None
