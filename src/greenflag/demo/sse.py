"""`GET /events`: a Server-Sent Events stream, one `tick` every `--sse-interval-ms`, resumable by id.

Ids are a sequence per stream: a client reconnecting with `Last-Event-ID: N` (or `?lastEventId=N`)
gets N+1, N+2, … so no id is repeated or skipped across a reconnect. `?limit=N` ends the stream
cleanly after N events (clients then reconnect, as browsers do). On SIGTERM every stream ends after
the event being written, with a clean end of the chunked body.
"""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from greenflag.demo.state import STATE, DemoState

__all__ = ["add_routes", "format_event", "parse_last_event_id"]

MAX_ID = 2**53


def format_event(event_id: int, event: str, data: str) -> bytes:
    """One event block. `data` must not contain newlines (ours is compact JSON)."""
    return f"id: {event_id}\nevent: {event}\ndata: {data}\n\n".encode()


def parse_last_event_id(value: str | None) -> int:
    """The id to resume after; anything that is not one of our ids starts from the beginning."""
    if value is None:
        return 0
    text = value.strip()
    if not text.isdigit() or len(text) > 16:
        return 0
    number = int(text)
    return number if number < MAX_ID else 0


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def _pause_until(state: DemoState, deadline: float) -> None:
    """Sleep until loop time `deadline`, or until the service begins to stop (cheaper than wait_for)."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    handle = loop.call_at(deadline, _resolve, waiter)
    state.sse_waiters.add(waiter)
    try:
        await waiter
    finally:
        handle.cancel()
        state.sse_waiters.discard(waiter)


async def events(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    last_id = parse_last_event_id(request.headers.get("Last-Event-ID", request.query.get("lastEventId")))
    limit_raw = request.query.get("limit")
    limit = int(limit_raw) if limit_raw is not None and limit_raw.isdigit() else None
    interval = state.options.sse_interval_ms / 1000.0
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    metrics = state.metrics
    metrics.sse_open.inc()
    loop = asyncio.get_running_loop()
    try:
        await response.write(f"retry: {state.options.sse_retry_ms}\n\n".encode())
        next_at = loop.time()
        sent = 0
        event_id = last_id
        while not state.stopping and (limit is None or sent < limit):
            event_id += 1
            data = json.dumps({"seq": event_id, "version": state.version, "ts": round(time.time(), 3)})
            await response.write(format_event(event_id, "tick", data))
            metrics.sse_events.inc()
            sent += 1
            next_at = max(next_at + interval, loop.time())
            if limit is not None and sent >= limit:
                break
            await _pause_until(state, next_at)
        await response.write_eof()
    except ConnectionError:
        pass  # the client went away
    finally:
        metrics.sse_open.dec()
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/events", events)
