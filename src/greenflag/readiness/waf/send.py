"""Send the planned WAF requests to one URL: bounded in count, rate and concurrency, never following redirects.

Only the target URL's host is ever connected to (through `--resolve` when given): a payload that names another
address (SSRF, JNDI) is a string in the request, and a redirect a response asks for is recorded, not followed.
Requests start on a fixed schedule (request i at i / rate seconds), so the rate holds however fast the target is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from greenflag.readiness.target import TargetOptions
from greenflag.readiness.waf.plan import WafRequest

__all__ = ["Response", "SendLimits", "origin_and_target", "send_all"]

USER_AGENT = "greenflag-waf-check"
BODY_LIMIT = 65536  # bytes of each response kept for --block-regex / --pass-regex


@dataclass(frozen=True)
class SendLimits:
    rate: float = 50.0  # requests per second
    concurrency: int = 4  # requests in flight at most


@dataclass(frozen=True)
class Response:
    status: int  # 0: no response, see error
    body: str = ""
    error: str | None = None  # reset, closed, timeout, connect, tls, error: message


def origin_and_target(url: str) -> tuple[str, str]:
    """'https://h:8443/a?b=1' → ('https://h:8443', '/a?b=1'); ValueError for anything but http(s) with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return f"{parts.scheme}://{parts.netloc}", target


def _classify(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "closed"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return f"tls: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connect: {exc}"
    if isinstance(exc, aiohttp.ClientOSError | ConnectionResetError):
        return "reset"
    return f"error: {type(exc).__name__}: {exc}"


async def _send_one(session: aiohttp.ClientSession, origin: str, request: WafRequest) -> Response:
    headers = {"User-Agent": USER_AGENT, **dict(request.headers)}
    try:
        async with session.request(
            request.method,
            URL(origin + request.target, encoded=True),
            headers=headers,
            data=request.body,
            allow_redirects=False,
        ) as response:
            body = await response.content.read(BODY_LIMIT)
            return Response(response.status, body.decode("utf-8", errors="replace"))
    except Exception as exc:  # every failure is data for the verdict, never a crash of the check
        error = _classify(exc)
        return Response(0, "", "reset" if error == "reset" else error)


async def send_all(
    url: str, requests: Sequence[WafRequest], options: TargetOptions, limits: SendLimits = SendLimits()
) -> list[Response]:
    """Send every request (in order of their scheduled start) and return the responses in the same order."""
    origin, _ = origin_and_target(url)
    results: list[Response | None] = [None] * len(requests)
    interval = 1.0 / limits.rate if limits.rate > 0 else 0.0
    next_index = 0
    start = time.monotonic()
    connector = aiohttp.TCPConnector(limit=limits.concurrency, resolver=options.resolver(), ssl=options.ssl_context())
    timeout = aiohttp.ClientTimeout(total=options.timeout_s)

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal next_index
        while next_index < len(requests):
            index = next_index
            next_index += 1
            delay = start + index * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            results[index] = await _send_one(session, origin, requests[index])

    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        await asyncio.gather(*(worker(session) for _ in range(max(1, limits.concurrency))))
    return [result if result is not None else Response(0, "", "error: not sent") for result in results]
