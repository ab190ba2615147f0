"""A virtual user's browser-like HTTP session over the engine's hot-path `Client`.

One keep-alive connection per origin, a cookie jar, redirects followed (303 always; 301/302/307/308 for GET and
HEAD; 301/302 after a POST become a GET, as browsers do), relative paths resolved against the run's host. Every
request (and every redirect hop) is recorded in the run's registry under its name, method, status and tags (the
current `step` among them). Latency is measured from when the VU wanted to send the request: the first request of
an iteration from the iteration's scheduled start (coordinated omission corrected), later ones from the call.
The models it hands out (`Response`, `Headers`, `CookieJar`) are in `models.py`; streams in `sse.py`.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypedDict
from urllib.parse import urlencode, urljoin, urlsplit

from typing_extensions import Unpack

from greenflag.load.http.client import Client
from greenflag.load.http.head import SAFE_TARGET, Target, build_request, control_character, parse_target
from greenflag.load.http.models import FORM_CONTENT_TYPE, CookieJar, Headers, Response
from greenflag.load.http.sse import SSEStream
from greenflag.load.metrics.series import Registry, Tags

__all__ = [
    "HttpSession",
    "RequestOptions",
    "default_name",
    "make_tags",
    "resolve_url",
]

_perf = time.perf_counter
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10


def resolve_url(base: Target | None, current: str | None, path: str) -> tuple[Target, str]:
    """(target, absolute URL) for `path`: absolute, or relative to the current URL / the run's host."""
    if "://" in path:
        return parse_target(path), path
    if current is None and base is not None and path.startswith("/") and not path.startswith("//"):
        clean = path.split("#", 1)[0]  # the common case, without urljoin: a path on the run's host
        if SAFE_TARGET.fullmatch(clean):  # else parse_target below encodes it (or refuses control characters)
            return Target(base.scheme, base.host, base.port, clean), base.origin + clean
    problem = control_character(path)  # urljoin would drop tabs and line breaks without a word
    if problem is not None:
        raise ValueError(f"{path!r}: {problem} (not allowed in a URL)")
    anchor = current or (base.origin + base.path if base is not None else None)
    if anchor is None:
        raise ValueError(f"relative path {path!r} but no host: pass --host URL or set `host` on the User class")
    url = urljoin(anchor, path)
    return parse_target(url), url


def make_tags(step: str | None, tags: Mapping[str, Any] | None) -> Tags:
    items = {str(k): str(v) for k, v in (tags or {}).items()}
    if step is not None:
        items.setdefault("step", step)
    return tuple(sorted(items.items()))


_ID_SEGMENT = re.compile(r"\d+|[0-9a-fA-F]{16,}|[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def default_name(url: str) -> str:
    """A request's name when none is given: its path without the query, numeric and hex/UUID segments as {id}
    (`/api/items/17?x=1` → `/api/items/{id}`), so ids in URLs do not make one metric series per id."""
    path = urlsplit(url).path or "/"
    return "/".join("{id}" if _ID_SEGMENT.fullmatch(part) else part for part in path.split("/"))


class RequestOptions(TypedDict, total=False):
    """Keyword arguments of `self.http.get/post/put/patch/delete/head` (see `HttpSession.request`)."""

    name: str | None
    json: Any
    data: Mapping[str, Any] | str | bytes | None
    body: bytes | None
    content_type: str | None
    headers: Mapping[str, str] | None
    tags: Mapping[str, Any] | None
    allow_redirects: bool


class HttpSession:
    """`self.http` of a journey: get/post/put/patch/delete, cookies, redirects, per-request metrics."""

    __slots__ = ("base", "clients", "cookies", "extra_headers", "pending", "registry", "step", "throttle", "timeout")

    def __init__(
        self,
        registry: Registry,
        base: Target | None,
        *,
        timeout: float = 60.0,
        extra_headers: tuple[tuple[str, str], ...] = (),
        throttle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`extra_headers` go with every request and stream (greenflag's analysis traffic: its route and tag);
        `throttle` is awaited before each request is sent (a shared rate cap)."""
        self.registry = registry
        self.base = base
        self.timeout = timeout
        self.clients: dict[tuple[str, str, int], Client] = {}
        self.cookies = CookieJar()
        self.pending: float | None = None  # the iteration's scheduled start, until its first request
        self.step: str | None = None
        self.extra_headers = extra_headers
        self.throttle = throttle

    def want_time(self) -> float:
        """When the VU wanted to send what it sends now: the scheduled start for the first request."""
        pending, self.pending = self.pending, None
        return pending if pending is not None else _perf()

    def client(self, target: Target) -> Client:
        key = (target.scheme, target.host, target.port)
        found = self.clients.get(key)
        if found is None:
            found = self.clients[key] = Client(target, timeout=self.timeout, keep_body=True)
        return found

    async def get(self, path: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("DELETE", path, **kwargs)

    async def head(self, path: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("HEAD", path, **kwargs)

    async def request(
        self,
        method: str,
        path: str,
        *,
        name: str | None = None,
        json: Any = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        tags: Mapping[str, Any] | None = None,
        allow_redirects: bool = True,
    ) -> Response:
        """One request (plus its redirects). `json=` sends JSON, `data=` a dict as a form or str/bytes as is."""
        method = method.upper()
        payload, kind = _payload(json, data, body)
        content_type = content_type or kind
        target, url = resolve_url(self.base, None, path)
        t_want = self.want_time()
        series_tags = make_tags(self.step, tags)
        history: list[Response] = []
        label = name or default_name(url)
        while True:
            resp = await self._send(method, target, url, label, payload, content_type, headers, series_tags, t_want)
            if not (allow_redirects and resp.status in _REDIRECTS and len(history) < MAX_REDIRECTS):
                break
            location = resp.headers.get("location")
            next_method = _redirect_method(method, resp.status)
            if not location or next_method is None:
                break
            history.append(resp)
            target, url = resolve_url(self.base, url, location)
            label = default_name(url)
            if next_method != method or resp.status not in (307, 308):  # only 307/308 resend the body
                payload, content_type = b"", None
            method = next_method
            t_want = _perf()
        resp.history = history
        return resp

    async def _send(
        self,
        method: str,
        target: Target,
        url: str,
        name: str,
        payload: bytes,
        content_type: str | None,
        headers: Mapping[str, str] | None,
        tags: Tags,
        t_want: float,
    ) -> Response:
        lines = list((headers or {}).items())
        if self.extra_headers:
            lines[:0] = self.extra_headers
        if self.throttle is not None:
            await self.throttle()
        if content_type and not any(k.lower() == "content-type" for k, _ in lines):
            lines.append(("Content-Type", content_type))
        cookie = self.cookies.header(target.host)
        if cookie:
            lines.append(("Cookie", cookie))
        data = build_request(method, target, None, lines, payload)  # target.path: encoded path and query
        client = self.client(target)
        try:
            status = await client.send(
                data, head=method == "HEAD", idempotent=method in ("GET", "HEAD", "PUT", "DELETE")
            )
        except asyncio.CancelledError:  # the end of the run: a request in flight is counted, interrupted
            if client.interrupt():
                self.registry.series_for(name, method, 0, tags).record_interrupted(len(data))
            raise
        series = self.registry.series_for(name, method, status, tags)
        series.record_http(
            t_want,
            client.t_sent,
            client.t_first,
            client.t_done,
            client.blocked_s,
            client.connecting_s,
            client.tls_s,
            len(data),
            client.bytes_recv,
            client.error,
        )
        return self._response(client, status, method, url, name, target)

    def _response(self, client: Client, status: int, method: str, url: str, name: str, target: Target) -> Response:
        resp_headers = Headers()
        body = b""
        if status:
            for raw_name, raw_value in client.headers:
                key = raw_name.decode("latin-1").lower()
                value = raw_value.decode("latin-1")
                if key == "set-cookie":
                    self.cookies.store(target.host, value)
                previous = resp_headers.get(key)
                dict.__setitem__(resp_headers, key, value if previous is None else f"{previous}, {value}")
            body = b"".join(client.body)
        client.headers.clear()  # do not keep the last page alive between requests (shared with the connection)
        client.body.clear()
        resp = Response(self, method, url, name, status, resp_headers, body)
        resp.error = client.error
        return resp

    def sse(
        self,
        path: str,
        *,
        name: str | None = None,
        headers: Mapping[str, str] | None = None,
        tags: Mapping[str, Any] | None = None,
        reconnect: bool = True,
        max_reconnects: int = 100,
    ) -> SSEStream:
        """A Server-Sent Events stream: `async with self.http.sse("/events") as stream: ...`."""
        target, url = resolve_url(self.base, None, path)
        return SSEStream(
            target,
            url,
            registry=self.registry,
            cookies=self.cookies,
            timeout=self.timeout,
            want_time=self.want_time,
            name=name or default_name(url),
            headers={**dict(self.extra_headers), **dict(headers or {})},
            tags=make_tags(self.step, tags),
            reconnect=reconnect,
            max_reconnects=max_reconnects,
        )

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.clients.clear()


def _payload(json: Any, data: Mapping[str, Any] | str | bytes | None, body: bytes | None) -> tuple[bytes, str | None]:
    if json is not None:
        return jsonlib.dumps(json, separators=(",", ":")).encode(), "application/json"
    if isinstance(data, Mapping):
        return urlencode({k: str(v) for k, v in data.items()}).encode(), FORM_CONTENT_TYPE
    if isinstance(data, str):
        return data.encode(), FORM_CONTENT_TYPE
    if isinstance(data, bytes):
        return data, None
    return body or b"", None


def _redirect_method(method: str, status: int) -> str | None:
    """The method of the follow-up request, or None when this redirect is not followed."""
    if status == 303:
        return "HEAD" if method == "HEAD" else "GET"
    if method in ("GET", "HEAD"):
        return method
    if method == "POST" and status in (301, 302):
        return "GET"
    return None
