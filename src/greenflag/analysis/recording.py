"""Recorded router stats: the JSON lines of `GET /stats/export` (`greenflag router stats --export FILE`), one per
second and backend, read back as windows the analysis can judge (pure).

A line: `{"time": UNIX_SECOND, "backend": NAME, "requests": N, "responses": {"2xx": …, "5xx": …},
"transport_errors": N, "latency_buckets_ms": [[UPPER_MS, COUNT], …], "synthetic": {the same, for the analysis
traffic among them}}`. `window(backend, start, end)` sums the seconds that began in [start, end) — the router's
own windows, a second at a time.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from greenflag.traffic.base import BackendWindow, percentiles

__all__ = ["Recording", "Second", "parse_line"]
__pure__ = True

CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


@dataclass(frozen=True)
class Second:
    """One backend's second: its counts and latency buckets, and the synthetic part among them."""

    time: float
    requests: int
    responses: dict[str, int]
    transport_errors: int
    buckets: tuple[tuple[float, int], ...]
    synthetic: Second | None = None

    @property
    def errors(self) -> int:
        return self.responses.get("5xx", 0) + self.transport_errors


def _counts(where: str, data: Any, at: float) -> Second:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object with requests, responses, transport_errors")
    try:
        responses = {str(k): int(v) for k, v in (data.get("responses") or {}).items() if str(k) in CLASSES}
        buckets = tuple((float(b), int(c)) for b, c in data.get("latency_buckets_ms") or [])
        requests = int(data["requests"])
        transport = int(data.get("transport_errors", 0))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {type(exc).__name__}: {exc} (expected the lines of GET /stats/export)") from None
    if requests < 0 or transport < 0 or any(v < 0 for v in responses.values()) or any(c < 0 for _, c in buckets):
        raise ValueError(f"{where}: negative counts")
    return Second(at, requests, responses, transport, buckets)


def parse_line(text: str, number: int) -> tuple[str, Second] | None:
    """(backend, second) from one line; None for a blank line. ValueError naming the line for anything else."""
    if not text.strip():
        return None
    where = f"line {number}"
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{where}: not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("backend"), str):
        raise ValueError(f"{where}: expected an object with time, backend, requests, … (GET /stats/export)")
    try:
        at = float(data["time"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{where}: time: expected Unix seconds") from None
    second = _counts(where, data, at)
    tagged = data.get("synthetic")
    if tagged is not None:
        part = _counts(f"{where}: synthetic", tagged, at)
        if part.requests > second.requests:
            raise ValueError(f"{where}: synthetic: more requests than the second has")
        second = Second(at, second.requests, second.responses, second.transport_errors, second.buckets, part)
    return data["backend"], second


@dataclass
class Recording:
    seconds: dict[str, list[Second]] = field(default_factory=dict)  # backend → its seconds, oldest first

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Recording:
        out = cls()
        for number, text in enumerate(lines, start=1):
            parsed = parse_line(text, number)
            if parsed is not None:
                out.seconds.setdefault(parsed[0], []).append(parsed[1])
        for series in out.seconds.values():
            series.sort(key=lambda s: s.time)
        return out

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> Recording:
        """From the lines already parsed (`EmbeddedRouterClient.stats_export()`)."""
        return cls.from_lines(json.dumps(record) for record in records)

    @property
    def backends(self) -> list[str]:
        return sorted(self.seconds)

    @property
    def start(self) -> float | None:
        times = [s[0].time for s in self.seconds.values() if s]
        return min(times) if times else None

    @property
    def end(self) -> float | None:
        """The end of the last recorded second."""
        times = [s[-1].time for s in self.seconds.values() if s]
        return max(times) + 1.0 if times else None

    def first_seen(self, backend: str) -> float | None:
        series = self.seconds.get(backend) or []
        return next((s.time for s in series if s.requests), None)

    def first_error(self, backend: str, traffic: str = "both") -> float | None:
        """The second of the backend's first failing response (5xx or transport error), counted as `traffic`."""
        for second in self.seconds.get(backend) or []:
            part = _part(second, traffic)
            if part.errors:
                return second.time
        return None

    def window(self, backend: str, start: float, end: float) -> BackendWindow:
        """What `backend` served in the seconds that began in [start, end), with its synthetic part."""
        picked = [s for s in self.seconds.get(backend) or [] if start <= s.time < end]
        span = max(1.0, end - start)
        whole = _window(backend, span, picked)
        tagged = [s.synthetic for s in picked if s.synthetic is not None]
        synthetic = _window(backend, span, tagged) if any(s.synthetic is not None for s in picked) else None
        return dataclasses.replace(whole, synthetic=synthetic)


def _part(second: Second, traffic: str) -> Second:
    if traffic == "both":
        return second
    tagged = second.synthetic or Second(second.time, 0, {}, 0, ())
    if traffic == "synthetic":
        return tagged
    responses = {k: v - tagged.responses.get(k, 0) for k, v in second.responses.items()}
    transport = second.transport_errors - tagged.transport_errors
    return Second(second.time, second.requests - tagged.requests, responses, transport, ())


def _window(backend: str, span: float, seconds: list[Second]) -> BackendWindow:
    responses: dict[str, int] = {}
    latency: dict[float, int] = {}
    for s in seconds:
        for key, count in s.responses.items():
            responses[key] = responses.get(key, 0) + count
        for bound, count in s.buckets:
            latency[bound] = latency.get(bound, 0) + count
    buckets = tuple(sorted(latency.items()))
    p50, p95, p99 = percentiles(buckets, (50.0, 95.0, 99.0))
    return BackendWindow(
        backend,
        span,
        sum(s.requests for s in seconds),
        {k: v for k, v in responses.items() if v},
        sum(s.transport_errors for s in seconds),
        buckets,
        p50,
        p95,
        p99,
    )
