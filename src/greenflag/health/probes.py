"""Probes: `http` (status set, body substring or JSON field, max latency), `tcp` (connect) and `exec` (exit 0).

Every `check` returns a ProbeResult and never raises: failures carry a one-line `detail`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from typing import Any

from greenflag.health.base import Probe, ProbeResult
from greenflag.spec import ProbeSpec
from greenflag.units import parse_host_port

__all__ = ["ExecProbe", "HttpProbe", "TcpProbe", "check_json_field", "make_probe"]


def check_json_field(body: Any, field: str) -> str | None:
    """None if `field` (a dotted path, or PATH=VALUE) holds in the JSON body; else why not (pure)."""
    path, sep, expected = field.partition("=")
    value = body
    for part in path.strip().split("."):
        if isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return f"JSON field {path.strip()!r} missing"
    if sep:
        shown = value if isinstance(value, str) else json.dumps(value)
        return (
            None
            if shown == expected.strip()
            else f"JSON field {path.strip()!r} is {shown!r}, expected {expected.strip()!r}"
        )
    return None if value not in (None, False, 0, "", [], {}) else f"JSON field {path.strip()!r} is {value!r}"


class HttpProbe:
    """GET base URL + path; ok when the status is expected, the body matches and it answered within max_latency."""

    def __init__(
        self,
        path: str = "",
        *,
        expect_status: Sequence[int] = tuple(range(200, 400)),
        body_contains: str | None = None,
        json_field: str | None = None,
        max_latency: float | None = None,
        timeout: float = 1.0,
    ) -> None:
        self.path = path
        self.expect_status = frozenset(expect_status)
        self.body_contains = body_contains
        self.json_field = json_field
        self.max_latency = max_latency
        self.timeout = timeout

    def url(self, target: str) -> str:
        if self.path.startswith(("http://", "https://")) or not self.path:
            return self.path or target
        return target.rstrip("/") + "/" + self.path.lstrip("/")

    async def check(self, target: str) -> ProbeResult:
        import aiohttp

        url = self.url(target)
        start = time.monotonic()
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, allow_redirects=False) as response,
            ):
                body = await response.read()
                status = response.status
        except TimeoutError:
            return ProbeResult(False, time.monotonic() - start, f"GET {url}: timed out after {self.timeout:g}s")
        except Exception as exc:
            return ProbeResult(False, time.monotonic() - start, f"GET {url}: {type(exc).__name__}: {exc}")
        latency = time.monotonic() - start
        problem = self._judge(status, body, latency)
        return ProbeResult(problem is None, latency, f"GET {url}: {problem or f'HTTP {status}'}")

    def _judge(self, status: int, body: bytes, latency: float) -> str | None:
        if status not in self.expect_status:
            return f"HTTP {status} not an expected status"
        if self.body_contains is not None and self.body_contains.encode() not in body:
            return f"HTTP {status}, body does not contain {self.body_contains!r}"
        if self.json_field is not None:
            try:
                data = json.loads(body)
            except ValueError:
                return f"HTTP {status}, body is not JSON"
            problem = check_json_field(data, self.json_field)
            if problem is not None:
                return f"HTTP {status}, {problem}"
        if self.max_latency is not None and latency > self.max_latency:
            return f"HTTP {status} after {latency * 1000:.0f} ms, over {self.max_latency * 1000:.0f} ms"
        return None


class TcpProbe:
    """Ok when a TCP connection to HOST:PORT (or tcp://HOST:PORT, or a URL's host and port) opens in time."""

    def __init__(self, *, timeout: float = 1.0) -> None:
        self.timeout = timeout

    @staticmethod
    def address(target: str) -> tuple[str, int]:
        from urllib.parse import urlsplit

        if "://" in target:
            parts = urlsplit(target)
            default = 443 if parts.scheme == "https" else 80
            return parts.hostname or "127.0.0.1", parts.port or default
        return parse_host_port(target)

    async def check(self, target: str) -> ProbeResult:
        start = time.monotonic()
        try:
            host, port = self.address(target)
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), self.timeout)
        except TimeoutError:
            return ProbeResult(False, time.monotonic() - start, f"tcp {target}: timed out after {self.timeout:g}s")
        except (OSError, ValueError) as exc:
            return ProbeResult(False, time.monotonic() - start, f"tcp {target}: {exc}")
        latency = time.monotonic() - start
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return ProbeResult(True, latency, f"tcp {host}:{port}: connected")


class ExecProbe:
    """Ok when the command exits 0 within the timeout (killed otherwise). `{target}` in arguments is replaced."""

    def __init__(self, command: Sequence[str], *, timeout: float = 1.0) -> None:
        self.command = list(command)
        self.timeout = timeout

    async def check(self, target: str) -> ProbeResult:
        argv = [arg.replace("{target}", target) for arg in self.command]
        start = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True
            )
        except OSError as exc:
            return ProbeResult(False, time.monotonic() - start, f"exec {argv[0]}: {exc.strerror or exc}")
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            return ProbeResult(False, time.monotonic() - start, f"exec {argv[0]}: timed out after {self.timeout:g}s")
        latency = time.monotonic() - start
        tail = out.decode(errors="replace").strip().splitlines()[-1:] if out else []
        detail = f"exec {argv[0]}: exit {proc.returncode}" + (f": {tail[0][:200]}" if tail else "")
        return ProbeResult(proc.returncode == 0, latency, detail)


def make_probe(spec: ProbeSpec) -> Probe:
    """The probe a ProbeSpec describes (exactly one of http, tcp, exec)."""
    if spec.http is not None:
        return HttpProbe(
            spec.http,
            expect_status=spec.expect_status,
            body_contains=spec.body_contains,
            json_field=spec.json_field,
            max_latency=spec.max_latency,
            timeout=spec.timeout,
        )
    if spec.exec is not None:
        return ExecProbe(spec.exec, timeout=spec.timeout)
    return TcpProbe(timeout=spec.timeout)
