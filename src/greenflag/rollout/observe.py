"""What the controller observes each tick: readiness/liveness gates of instances and analysis metrics.

Minimal probes of its own (HTTP GET or TCP connect) until `greenflag.health` lands; gates count consecutive
results like Kubernetes probes. Metric values come from the router's per-backend stats (`RouterStats`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from greenflag.rollout.judge import effective_metrics, measure
from greenflag.rollout.model import Measurement, MeasurementPhase
from greenflag.spec import MetricSpec, ProbeSpec, Spec
from greenflag.traffic.base import BackendWindow, RouterStats

__all__ = ["Gate", "Prober", "backend_names", "collect_measurements", "metric_value"]


def backend_names(version: str, count: int) -> list[str]:
    """Router backend names of a version's instances: the version itself, or `version-i` for several."""
    return [version] if count == 1 else [f"{version}-{i}" for i in range(count)]


@dataclass
class Gate:
    """Consecutive successes/failures of one probe against one version."""

    spec: ProbeSpec | None
    successes: int = 0
    failures: int = 0
    last_at: float = -1e18
    last_detail: str = ""
    started_at: float = field(default_factory=time.monotonic)

    def due(self, now: float) -> bool:
        interval = self.spec.interval if self.spec is not None else 0.2
        initial = self.spec.initial_delay if self.spec is not None else 0.0
        return now - self.started_at >= initial and now - self.last_at >= interval

    def record(self, ok: bool, detail: str, now: float) -> None:
        self.last_at = now
        self.last_detail = detail
        if ok:
            self.successes, self.failures = self.successes + 1, 0
        else:
            self.successes, self.failures = 0, self.failures + 1

    @property
    def passed(self) -> bool:
        threshold = self.spec.success_threshold if self.spec is not None else 1
        return self.successes >= threshold

    @property
    def failed(self) -> bool:
        threshold = self.spec.failure_threshold if self.spec is not None else 3
        return self.failures >= threshold


class Prober:
    """Runs HTTP/TCP probes (aiohttp session created lazily)."""

    def __init__(self) -> None:
        self._session: Any = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def check(self, spec: ProbeSpec | None, url: str) -> tuple[bool, str]:
        """(ok, detail). No probe spec: a TCP connect. Never raises."""
        host_port = url.split("://", 1)[-1].rstrip("/")
        if spec is None or spec.tcp:
            return await self._tcp(host_port, 1.0 if spec is None else spec.timeout)
        if spec.exec:
            return await self._exec(spec.exec, spec.timeout)
        return await self._http(spec, url.rstrip("/") + (spec.http or "/"))

    async def _tcp(self, host_port: str, timeout: float) -> tuple[bool, str]:
        host, _, port = host_port.rpartition(":")
        try:
            async with asyncio.timeout(timeout):
                _, writer = await asyncio.open_connection(host, int(port))
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return True, "connected"
        except (OSError, TimeoutError) as exc:
            return False, f"tcp {host_port}: {type(exc).__name__}"

    async def _exec(self, argv: list[str], timeout: float) -> tuple[bool, str]:
        import shlex

        from greenflag.rollout.hooks import run_command

        result = await run_command(shlex.join(argv), timeout_s=timeout)
        return result.ok, result.detail

    async def _http(self, spec: ProbeSpec, url: str) -> tuple[bool, str]:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=spec.timeout)) as response:
                body = await response.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return False, f"GET {url}: {type(exc).__name__}"
        if response.status not in spec.expect_status:
            return False, f"GET {url}: status {response.status}"
        if spec.body_contains is not None and spec.body_contains not in body:
            return False, f"GET {url}: body lacks {spec.body_contains!r}"
        return True, f"GET {url}: status {response.status}"


def _merge(windows: list[BackendWindow]) -> BackendWindow | None:
    if not windows:
        return None
    if len(windows) == 1:
        return windows[0]
    responses: dict[str, int] = {}
    for w in windows:
        for key, count in w.responses.items():
            responses[key] = responses.get(key, 0) + count

    def worst(name: str) -> float | None:
        values = [getattr(w, name) for w in windows if getattr(w, name) is not None]
        return max(values) if values else None

    return BackendWindow(
        backend=windows[0].backend,
        window_s=windows[0].window_s,
        requests=sum(w.requests for w in windows),
        responses=responses,
        transport_errors=sum(w.transport_errors for w in windows),
        p50_ms=worst("p50_ms"),
        p95_ms=worst("p95_ms"),
        p99_ms=worst("p99_ms"),
    )


def metric_value(window: BackendWindow, query: str) -> float | None:
    """A router metric by name: error_rate, p50_ms, p95_ms, p99_ms, request_rate, requests, errors."""
    value = getattr(window, query, None)
    return None if value is None or not isinstance(value, int | float) else float(value)


async def collect_measurements(
    spec: Spec, stats: RouterStats | None, version: str, now: float
) -> tuple[Measurement, ...]:
    """One measurement per metric of the version under test; none while it has served no requests."""
    metrics = effective_metrics(spec.analysis)
    window_s = spec.analysis.window
    window: BackendWindow | None = None
    if stats is not None and any(m.provider == "router" for m in metrics):
        try:
            windows = await stats.stats(window_s)
        except Exception as exc:  # errors are measurements, never escaping exceptions
            return tuple(measure(m, None, now, f"router stats: {exc}") for m in metrics if m.provider == "router")
        names = set(backend_names(version, spec.platform.instances))
        window = _merge([w for name, w in windows.items() if name in names])
    out = []
    for metric in metrics:
        if metric.provider != "router":
            out.append(await _provider_measurement(metric, stats, version, window_s, now))
        elif window is not None and window.requests > 0:
            out.append(measure(metric, metric_value(window, metric.query), now))
    return tuple(out)


async def _provider_measurement(
    metric: MetricSpec, stats: RouterStats | None, version: str, window_s: float, now: float
) -> Measurement:
    """A metric from another provider (prometheus, http_json, cloudwatch), judged by `greenflag.analysis`."""
    from greenflag.analysis.providers.registry import create_provider, render_query
    from greenflag.analysis.verdicts import measure as analysis_measure

    window = metric.window or window_s
    try:
        provider = create_provider(metric, router=stats, where=f"analysis.metrics {metric.name}")
        observation = await provider.query(
            render_query(metric.query, backend=version, window_s=window), backend=version, window_s=window
        )
    except Exception as exc:  # errors are measurements
        return measure(metric, None, now, f"{metric.provider}: {exc}")
    judged = analysis_measure(metric, observation, now)
    value = judged.value if isinstance(judged.value, int | float) else None
    limit = metric.failure_condition or metric.success_condition or ""
    phases = {str(p): p for p in MeasurementPhase}
    phase = phases.get(str(judged.verdict), MeasurementPhase.INCONCLUSIVE)
    return Measurement(metric.name, phase, value, limit, now, judged.message)
