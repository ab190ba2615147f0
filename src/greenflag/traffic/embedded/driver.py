"""`EmbeddedRouterClient`: the Router driver for the embedded router, speaking to its admin API.

Implements `Router`, `BackendManager`, `HeaderRouting`, `RouterStats`, `OpenRequests` and `SyntheticTagging`
(greenflag.traffic.base).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from greenflag.traffic.base import SYNTHETIC_HEADER, BackendWindow, Weights
from greenflag.traffic.embedded.admin_token import synthetic_key
from greenflag.traffic.embedded.stats import window_from_json

__all__ = ["AdminError", "EmbeddedRouterClient"]


class AdminError(ConnectionError):
    """The admin API refused a call or could not be reached; the message says which and why."""


class EmbeddedRouterClient:
    def __init__(self, admin_url: str, token: str, *, timeout: float = 5.0) -> None:
        self.admin_url = admin_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._synthetic = synthetic_key(token)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def _call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        url = self.admin_url + path
        try:
            async with self._session.request(method, url, json=body, params=params) as resp:
                text = await resp.text()
                if resp.status == 401:
                    raise AdminError(f"{url}: 401 unauthorized (wrong or missing admin token)")
                if resp.status >= 400:
                    raise AdminError(f"{method} {url}: HTTP {resp.status}: {_message(text)}")
                return await resp.json(content_type=None)
        except aiohttp.ClientError as exc:
            raise AdminError(f"{method} {url}: router admin API unreachable: {exc}") from None
        except TimeoutError:
            raise AdminError(f"{method} {url}: router admin API timed out") from None

    # -- Router -----------------------------------------------------------------------------------------
    async def apply(self, weights: Weights) -> None:
        await self._call("PUT", "/weights", dict(weights))

    async def observe(self) -> Weights | None:
        data = await self._call("GET", "/weights")
        return {str(k): int(v) for k, v in data.items()}

    async def reset(self, stable: str | None = None) -> None:
        await self._call("POST", "/reset", {"stable": stable})

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- BackendManager, HeaderRouting ------------------------------------------------------------------
    async def set_backends(self, backends: dict[str, str]) -> None:
        await self._call("PUT", "/backends", dict(backends))

    async def backends(self) -> dict[str, dict[str, Any]]:
        """name → {url, weight, state (active|draining|drained|down), in_flight, drained}."""
        data: dict[str, dict[str, Any]] = await self._call("GET", "/backends")
        return data

    async def open_requests(self) -> dict[str, int]:
        """Backend name → requests in flight (`GET /backends`)."""
        return {name: int(item.get("in_flight", 0)) for name, item in (await self.backends()).items()}

    async def set_header_route(self, backend: str | None) -> None:
        await self._call("PUT", "/header-route", {"backend": backend})

    async def header_route(self) -> str | None:
        data = await self._call("GET", "/header-route")
        value = data.get("backend")
        return None if value is None else str(value)

    # -- RouterStats ------------------------------------------------------------------------------------
    async def stats(self, window_s: float) -> dict[str, BackendWindow]:
        data = await self._call("GET", "/stats", params={"window": f"{window_s:g}s"})
        return {name: window_from_json(name, window_s, item) for name, item in data["backends"].items()}

    async def stats_json(self, window_s: float) -> dict[str, Any]:
        """The raw `GET /stats` answer, including the router-wide counters (docs/router.md)."""
        data: dict[str, Any] = await self._call("GET", "/stats", params={"window": f"{window_s:g}s"})
        return data

    async def stats_export(self, since: float | None = None) -> list[dict[str, Any]]:
        """`GET /stats/export`: one mapping per complete second and backend (docs/router.md)."""
        import json

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        params = {} if since is None else {"since": f"{since:.3f}"}
        url = self.admin_url + "/stats/export"
        try:
            async with self._session.get(url, params=params) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    raise AdminError(f"GET {url}: HTTP {resp.status}: {_message(text)}")
        except aiohttp.ClientError as exc:
            raise AdminError(f"GET {url}: router admin API unreachable: {exc}") from None
        except TimeoutError:
            raise AdminError(f"GET {url}: router admin API timed out") from None
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    # -- SyntheticTagging -------------------------------------------------------------------------------
    def synthetic_tag(self) -> tuple[str, str]:
        return SYNTHETIC_HEADER, self._synthetic

    async def healthz(self) -> dict[str, Any]:
        data: dict[str, Any] = await self._call("GET", "/healthz")
        return data


def _message(text: str) -> str:
    import json

    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    return str(data.get("error", data)) if isinstance(data, dict) else str(data)
