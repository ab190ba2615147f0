"""What each part of the embedded router calls on the others, as Protocols (types only: nothing here runs).

The proxy's hot path is a triangle of callbacks, with no coroutine per request: a client connection
(`client.py`) asks the core (`core.py`) to dispatch a request; the core binds it to an upstream connection
(`upstream.py`); the upstream connection streams the response back into the client connection. Each side is
typed against the Protocol that names what it uses of the others, so the triangle is a cycle of types only
(imports under `TYPE_CHECKING`), never of modules at run time, and a change to one side shows here first.

The admin API (`admin.py`) and the Prometheus exposition (`exposition.py`) are views over the running router
(`server.py`): they see it as an `AdminRouter` and a `ScrapedRouter`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import asyncio

    from greenflag.spec import RouterSpec
    from greenflag.traffic.embedded.client import ClientConnection, Exchange
    from greenflag.traffic.embedded.http1 import Limits
    from greenflag.traffic.embedded.server import BackendState
    from greenflag.traffic.embedded.stats import StatsStore
    from greenflag.traffic.embedded.upstream import UpstreamConnection

__all__ = ["AdminRouter", "ClientSide", "CoreForClient", "CoreForUpstream", "RouterStatsHolder", "ScrapedRouter"]


class CoreForClient(Protocol):
    """What a client connection uses of the proxy core (`ProxyCore`): its settings, dispatch and bookkeeping."""

    loop: asyncio.AbstractEventLoop
    route_header: bytes
    limits: Limits
    idle_timeout: float
    header_timeout: float
    body_timeout: float
    connections: set[ClientConnection]
    rejected: int

    def dispatch(self, ex: Exchange) -> None:
        """Choose a backend for a parsed request and bind it to an upstream connection (or answer 503)."""

    def finished(self, ex: Exchange, status: int) -> None:
        """A response is complete: count it in the backend's stats."""

    def client_gone(self, ex: Exchange, *, by_router: bool = False) -> None:
        """The client connection closed with `ex` unanswered: abort its upstream side."""

    def sticky_cookie(self, ex: Exchange) -> bytes:
        """The `Set-Cookie` header line that pins the client to its backend (empty when none is due)."""
        ...

    def log_error(self, message: str, exc: BaseException | None) -> None: ...


class CoreForUpstream(Protocol):
    """What an upstream connection uses of the proxy core."""

    loop: asyncio.AbstractEventLoop

    def upstream_failed(self, ex: Exchange, conn: UpstreamConnection, *, broken: bool) -> None:
        """The backend closed or misbehaved before the response was complete: retry once or answer 502."""


class ClientSide(Protocol):
    """What the core and an upstream connection call on a client connection (`ClientConnection`) to answer."""

    client_ip: bytes
    write_paused: bool

    def cork(self) -> None: ...
    def uncork(self) -> None: ...
    def pause_reading_for(self, reason: int) -> None: ...
    def resume_reading_for(self, reason: int) -> None: ...
    def informational(self, ex: Exchange, status: int, reason: bytes) -> None: ...
    def response_head(
        self, ex: Exchange, status: int, reason: bytes, headers: list[tuple[bytes, bytes]], unframed: bool
    ) -> None: ...
    def response_body(self, ex: Exchange, body: bytes) -> None: ...
    def response_done(self, ex: Exchange, *, status: int | None = None) -> None: ...
    def fail(self, ex: Exchange, status: int, message: str) -> None: ...
    def close(self) -> None: ...


class RouterStatsHolder(Protocol):
    @property
    def stats(self) -> StatsStore: ...


class ScrapedRouter(Protocol):
    """What the Prometheus exposition reads of the running router (`EmbeddedRouter`)."""

    @property
    def core(self) -> RouterStatsHolder: ...

    def backend_states(self) -> Mapping[str, BackendState]: ...

    @property
    def metric_collectors(self) -> list[Any]:
        """More prometheus-client collectors served on the same /metrics (`greenflag up`: the controller's)."""
        ...


class AdminRouter(ScrapedRouter, Protocol):
    """What the admin API reads and changes on the running router (`EmbeddedRouter`)."""

    @property
    def spec(self) -> RouterSpec: ...

    @property
    def url(self) -> str: ...

    def weights(self) -> dict[str, int]: ...
    def set_weights(self, weights: dict[str, int]) -> None: ...
    def resolve_backends(self, backends: dict[str, str]) -> dict[str, tuple[str, ...]]: ...
    def set_backends(self, backends: dict[str, str], addresses: dict[str, tuple[str, ...]] | None = None) -> None: ...
    def header_route(self) -> str | None: ...
    def set_header_route(self, backend: str | None) -> None: ...
    def reset(self, stable: str | None = None) -> None: ...
    def stats_json(self, window_s: float) -> dict[str, Any]: ...
    def stats_export(self, since: float | None = None) -> list[dict[str, Any]]: ...
