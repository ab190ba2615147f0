"""The JSON API: items (paged, by id, create) and the contact submissions' count and latest rows."""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

from greenflag.demo.state import STATE
from greenflag.demo.store import Store

__all__ = ["add_routes"]

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_ITEM_NAME = 200


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def _query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"query parameter {name}={raw!r}: expected an integer {low}..{high}"}),
            content_type="application/json",
        )
    return value


def _store(request: web.Request) -> Store:
    store = request.app[STATE].store
    assert store is not None  # the middleware answers 503 until start-up work (the database) is done
    return store


async def list_items(request: web.Request) -> web.Response:
    page = _query_int(request, "page", 1, 1, 1_000_000)
    per_page = _query_int(request, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    total, items = await _store(request).items_page(page, per_page)
    return web.json_response(
        {"page": page, "per_page": per_page, "total": total, "pages": math.ceil(total / per_page), "items": items}
    )


async def get_item(request: web.Request) -> web.Response:
    try:
        item_id = int(request.match_info["id"])
    except ValueError:
        return _error(404, "no such item")
    item = await _store(request).item(item_id)
    return _error(404, "no such item", id=item_id) if item is None else web.json_response(item)


def _validate_item(body: Any) -> tuple[str, int] | dict[str, str]:
    if not isinstance(body, dict):
        return {"body": "expected a JSON object with name and price_cents"}
    errors: dict[str, str] = {}
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_ITEM_NAME:
        errors["name"] = f"expected a non-empty string of at most {MAX_ITEM_NAME} characters"
    price = body.get("price_cents")
    if isinstance(price, bool) or not isinstance(price, int) or not 0 <= price <= 100_000_000:
        errors["price_cents"] = "expected an integer between 0 and 100000000"
    if errors:
        return errors
    assert isinstance(name, str) and isinstance(price, int)
    return name.strip(), price


async def create_item(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "the body is not valid JSON")
    checked = _validate_item(body)
    if isinstance(checked, dict):
        return _error(422, "invalid item", errors=checked)
    item = await _store(request).add_item(*checked)
    return web.json_response(item, status=201, headers={"Location": f"/api/items/{item['id']}"})


async def contacts(request: web.Request) -> web.Response:
    latest = _query_int(request, "latest", 10, 0, 100)
    return web.json_response(await _store(request).contacts(latest))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/items", list_items)
    app.router.add_get("/api/items/{id}", get_item)
    app.router.add_post("/api/items", create_item)
    app.router.add_get("/api/contacts", contacts)
