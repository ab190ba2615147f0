"""HTML handlers: the static pages and the contact form (CSRF bound to the session cookie, SQLite storage)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from greenflag.demo.forms import SESSION_COOKIE, csrf_token, csrf_valid, new_session_id, session_valid, validate_contact
from greenflag.demo.state import STATE, DemoState
from greenflag.demo.templates import render_contact_form

__all__ = ["add_routes"]

_HTML = "text/html; charset=utf-8"
_NO_STORE = {"Content-Type": _HTML, "Cache-Control": "no-store"}
CSRF_MESSAGE = (
    "The form was not sent from this site or has expired (CSRF token missing or wrong). Please send it again."
)


def _static(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=request.app[STATE].pages.static[name], headers={"Content-Type": _HTML})

    handler.__name__ = f"page_{name}"
    return handler


def _session(request: web.Request) -> tuple[str, bool]:
    """The request's session id, or a new one (True when the cookie must be set)."""
    session = request.cookies.get(SESSION_COOKIE)
    if session_valid(session):
        assert session is not None
        return session, False
    return new_session_id(), True


def _set_session(response: web.Response, session: str) -> None:
    response.set_cookie(SESSION_COOKIE, session, path="/", httponly=True, samesite="Lax")


def _form_response(
    state: DemoState,
    request: web.Request,
    status: int,
    values: dict[str, str],
    errors: dict[str, str],
) -> web.Response:
    session, is_new = _session(request)
    token = csrf_token(state.csrf_secret, session)
    body = (
        state.pages.contact(token)
        if not errors and not values
        else render_contact_form(state.version, token, values, errors)
    )
    response = web.Response(status=status, body=body, headers=_NO_STORE)
    if is_new:
        _set_session(response, session)
    return response


async def contact_form(request: web.Request) -> web.Response:
    return _form_response(request.app[STATE], request, 200, {}, {})


async def contact_submit(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await request.post()
    values = {key: value for key in ("name", "email", "message") if isinstance(value := form.get(key, ""), str)}
    token = form.get("csrf_token")
    if not isinstance(token, str) or not csrf_valid(state.csrf_secret, request.cookies.get(SESSION_COOKIE), token):
        return _form_response(state, request, 403, values, {"form": CSRF_MESSAGE})
    submission, errors = validate_contact(values)
    if submission is None:
        return _form_response(state, request, 422, values, errors)
    assert state.store is not None  # the middleware answers 503 until start-up work (the database) is done
    await state.store.add_contact(submission, state.version)
    state.metrics.contacts.inc()
    return web.Response(status=303, headers={"Location": "/contact/thanks", "Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", _static("home"))
    app.router.add_get("/about", _static("about"))
    app.router.add_get("/pricing", _static("pricing"))
    app.router.add_get("/contact/thanks", _static("thanks"))
    app.router.add_get("/contact", contact_form)
    app.router.add_post("/contact", contact_submit)
