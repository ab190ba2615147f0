"""Backend faults through the embedded router's admin API: a slow or failing backend, a removed backend.

`BackendFault` starts a `FaultProxy` in front of one backend and re-points the router's backend at the proxy
(`PUT /backends` with the same name, so its weight is kept); revert points it back at the original address,
but only if it still points at this proxy (someone else may have changed it since), then stops the proxy.
`RemoveBackend` takes a backend out of the router's set; revert adds it back with its old weight.
"""

from __future__ import annotations

from typing import Any

from greenflag.dr.faults.base import FaultBase, FaultError
from greenflag.dr.faults.proxy import FaultProxy
from greenflag.traffic.embedded.driver import AdminError, EmbeddedRouterClient
from greenflag.traffic.embedded.upstream import parse_backend_url

__all__ = ["BackendFault", "RemoveBackend"]


async def _urls(client: EmbeddedRouterClient) -> dict[str, str]:
    return {name: str(info["url"]) for name, info in (await client.backends()).items()}


class _RouterFault(FaultBase):
    def __init__(self, admin_url: str, token: str, backend: str) -> None:
        self.admin_url, self.token, self.backend = admin_url, token, backend
        self._client: EmbeddedRouterClient | None = None

    @property
    def client(self) -> EmbeddedRouterClient:
        if self._client is None:
            self._client = EmbeddedRouterClient(self.admin_url, self.token)
        return self._client

    async def _original(self) -> tuple[dict[str, str], str]:
        try:
            urls = await _urls(self.client)
        except AdminError as exc:
            raise FaultError(f"{self.name}: {exc}") from None
        if self.backend not in urls:
            known = ", ".join(sorted(urls)) or "none"
            raise FaultError(f"{self.name}: the router has no backend {self.backend!r} (it has: {known})")
        return urls, urls[self.backend]

    async def _close_client(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class BackendFault(_RouterFault):
    """Make one backend slow (`latency`, `jitter`), failing (`error_rate` of `error_status`) or resetting
    (`reset_rate`), per request, for the traffic the embedded router sends it."""

    name = "backend fault"

    def __init__(self, admin_url: str, token: str, backend: str, **proxy_options: Any) -> None:
        super().__init__(admin_url, token, backend)
        self.proxy_options = proxy_options
        self.proxy: FaultProxy | None = None
        self.original_url: str | None = None

    async def inject(self) -> None:
        _, url = await self._original()
        self.original_url = url
        self.proxy = FaultProxy(parse_backend_url(url), **self.proxy_options)
        await self.proxy.start()
        urls = await _urls(self.client)
        urls[self.backend] = self.proxy.url
        await self.client.set_backends(urls)

    async def revert(self) -> None:
        try:
            if self.proxy is not None and self.original_url is not None:
                urls = await _urls(self.client)
                if urls.get(self.backend) == self.proxy.url:
                    urls[self.backend] = self.original_url
                    await self.client.set_backends(urls)
                self.original_url = None
        finally:
            if self.proxy is not None:
                await self.proxy.stop()
                self.proxy = None
            await self._close_client()


class RemoveBackend(_RouterFault):
    """Take a backend out of the router (it drains like any removed backend); revert puts it back."""

    name = "remove backend"

    def __init__(self, admin_url: str, token: str, backend: str) -> None:
        super().__init__(admin_url, token, backend)
        self.removed: tuple[str, int] | None = None  # (url, weight) while removed

    async def inject(self) -> None:
        urls, url = await self._original()
        weight = int((await self.client.observe() or {}).get(self.backend, 0))
        del urls[self.backend]
        await self.client.set_backends(urls)
        self.removed = (url, weight)

    async def revert(self) -> None:
        try:
            if self.removed is not None:
                url, weight = self.removed
                urls = await _urls(self.client)
                if self.backend not in urls:
                    await self.client.set_backends({**urls, self.backend: url})
                    await self.client.apply({self.backend: weight})
                self.removed = None
        finally:
            await self._close_client()
