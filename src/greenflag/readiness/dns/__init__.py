"""`check dns`: authoritative consistency (Zonemaster CONSISTENCY01–04), lame delegation, CAA and propagation.

`collect` asks the servers (dnspython); `evaluate` (pure) judges what they said.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenflag.readiness.base import CheckResult

if TYPE_CHECKING:  # the package stays importable without I/O libraries, so its pure modules stay pure
    from greenflag.readiness.target import TargetOptions

__all__ = ["check_dns"]


async def check_dns(name: str, *, resolvers: list[str] = [], options: TargetOptions | None = None,  # noqa: B006
                    nameservers: list[str] = [], require_caa: bool = False,  # noqa: B006
                    require_propagation: bool = False) -> CheckResult:  # fmt: skip
    """Check NAME. `nameservers` (IP[:PORT]) replaces discovery; ValueError for a malformed address."""
    import time

    from greenflag.readiness.base import Finding, Severity, Status
    from greenflag.readiness.dns.collect import collect
    from greenflag.readiness.dns.evaluate import evaluate, propagation_wait_s
    from greenflag.readiness.target import TargetOptions

    options = options if options is not None else TargetOptions()
    started = time.monotonic()
    try:
        facts = await collect(name, resolvers=list(resolvers), nameservers=list(nameservers),
                              timeout=options.timeout_s)  # fmt: skip
    except ValueError:
        raise
    except Exception as exc:  # discovery failed: no resolver answer, NXDOMAIN for the zone, ...
        return CheckResult("dns", name, Status.ERROR, (Finding("dns.discovery_failed", Severity.HIGH,
                           f"cannot find the authoritative servers of {name}: {type(exc).__name__}: {exc}"),),
                           duration_s=time.monotonic() - started)  # fmt: skip
    status, findings = evaluate(facts, require_caa=require_caa, require_propagation=require_propagation)
    evidence = {**facts.to_json(), "propagation_wait_s": propagation_wait_s(facts)}
    return CheckResult("dns", name, status, tuple(findings), evidence=evidence, duration_s=time.monotonic() - started)
