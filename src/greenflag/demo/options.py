"""`AppOptions`: everything `greenflag demo-app` can be told, validated in one place."""

from __future__ import annotations

import dataclasses
import math

__all__ = ["DEFAULT_CSRF_SECRET", "AppOptions"]

# The default is shared by every instance on purpose: a form fetched from blue and posted to green (the router
# switched between the two requests) must still pass, as it would behind a real load balancer with one secret.
DEFAULT_CSRF_SECRET = "greenflag-demo-app-not-a-secret"


@dataclasses.dataclass(frozen=True, slots=True)
class AppOptions:
    """Options of the reference service. Durations are in seconds unless the name says otherwise."""

    version: str = "v1"
    host: str = "127.0.0.1"
    port: int = 0
    db: str | None = None  # SQLite file; None → a temporary file unique to the process, removed on exit
    sse_interval_ms: int = 500
    sse_retry_ms: int = 1000
    error_rate: float = 0.0
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    startup_delay_s: float = 0.0
    fail_readiness: bool = False
    crash_after: int | None = None  # requests; None → never
    faults_after_s: float = 0.0
    shutdown_timeout_s: float = 30.0
    csrf_secret: str = DEFAULT_CSRF_SECRET
    seed_items: int = 100

    def problems(self) -> list[str]:
        """What is wrong with these options, one message per option (empty when they are valid)."""
        out: list[str] = []
        if not self.version or any(c.isspace() for c in self.version) or len(self.version) > 64:
            out.append(f"--version {self.version!r}: expected a non-empty string without spaces (≤ 64 chars)")
        if not 0 <= self.port <= 65535:
            out.append(f"--port {self.port}: expected 0..65535 (0 picks a free port)")
        if not (math.isfinite(self.error_rate) and 0.0 <= self.error_rate <= 1.0):
            out.append(f"--error-rate {self.error_rate}: expected a fraction between 0 and 1")
        for name, value in (
            ("--latency-ms", self.latency_ms),
            ("--latency-jitter-ms", self.latency_jitter_ms),
            ("--startup-delay-s", self.startup_delay_s),
            ("--faults-after-s", self.faults_after_s),
            ("--shutdown-timeout-s", self.shutdown_timeout_s),
        ):
            if not (math.isfinite(value) and value >= 0):
                out.append(f"{name} {value}: expected a number ≥ 0")
        if self.sse_interval_ms < 1:
            out.append(f"--sse-interval-ms {self.sse_interval_ms}: expected ≥ 1")
        if self.sse_retry_ms < 0:
            out.append(f"--sse-retry-ms {self.sse_retry_ms}: expected ≥ 0")
        if self.crash_after is not None and self.crash_after < 0:
            out.append(f"--crash-after {self.crash_after}: expected a number of requests ≥ 0")
        if self.seed_items < 0:
            out.append(f"seed_items {self.seed_items}: expected ≥ 0")
        if not self.csrf_secret:
            out.append("--csrf-secret: expected a non-empty string")
        return out
