"""`check tls`: the SSL Labs-style grade of one TLS server, with every cap and warning explained.

`collect` (raw-hello probes, one full handshake) gathers `TlsFacts`; `grade` (pure) applies SSL Labs' rating
guide 2009r; `evaluate` (pure) turns both into findings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenflag.readiness.base import CheckResult

if TYPE_CHECKING:  # the package stays importable without I/O libraries, so its pure modules stay pure
    from greenflag.readiness.target import TargetOptions

__all__ = ["check_tls"]


async def check_tls(host: str, port: int = 443, *, sni: str | None = None, options: TargetOptions | None = None,
                    min_grade: str = "A+", min_days: float = 21, budget_s: float = 60.0) -> CheckResult:  # fmt: skip
    """Scan host:port and grade it. Never raises for the target's failure: an unreachable server is ERROR.
    `options` defaults to `TargetOptions()` (system trust store, no --resolve)."""
    from greenflag.readiness.target import TargetOptions
    from greenflag.readiness.tls.check import run

    options = options if options is not None else TargetOptions()
    return await run(host, port, sni=sni, options=options, min_grade=min_grade, min_days=min_days, budget_s=budget_s)
