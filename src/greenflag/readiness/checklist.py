"""The readiness checklist: every check in greenflag.yaml's `readiness:` section, run concurrently, each within its
timeout, into one list of results. What a rollout calls before promoting (`readiness: {required_before: promote}`):

    results = await run_checklist(spec)
    if not checklist_ok(results): ...   # a required check failed or could not run

Checks are found through `CHECKS`, a `kind → "module:function"` table imported lazily, so a check whose module is
missing (or whose optional dependency is) is an ERROR result for that check alone, never an import failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenflag.errors import ConfigError
from greenflag.readiness.base import CheckResult, Finding, Severity, Status
from greenflag.readiness.target import TargetOptions, parse_resolve
from greenflag.spec import Spec
from greenflag.spec.readiness import CheckItem, ReadinessSpec, WafCheckSpec

__all__ = ["CHECKS", "KINDS", "PlannedCheck", "checklist_ok", "plan_checklist", "run_checklist"]

CHECKS: dict[str, str] = {
    "tls": "greenflag.readiness.tls:check_tls",
    "dns": "greenflag.readiness.dns:check_dns",
    "waf": "greenflag.readiness.waf.check:check_waf",
    "headers": "greenflag.readiness.headers.check:check_headers",
    "monitoring": "greenflag.readiness.monitoring:check_monitoring",
    "backups": "greenflag.readiness.backups:check_backups",
    "health": "greenflag.readiness.probes:check_http",
    "checks": "greenflag.readiness.probes:check_exec",  # user checks: exec, or http through check_http
}
KINDS = tuple(CHECKS)


def load(kind: str, entry: str | None = None) -> Callable[..., Awaitable[CheckResult]]:
    module, _, function = (entry or CHECKS[kind]).partition(":")
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class PlannedCheck:
    kind: str
    target: str
    item: CheckItem
    timeout_s: float
    call: Callable[[], Awaitable[CheckResult]]  # runs the check


def _where(spec: Spec) -> tuple[str, Path]:
    source = str(spec.source) if spec.source is not None else "greenflag.yaml"
    return source, spec.source.parent if spec.source is not None else Path.cwd()


def _options(spec: Spec, base: Path) -> TargetOptions:
    source, _ = _where(spec)
    ready = spec.readiness
    entries = []
    for index, value in enumerate(ready.resolve):
        try:
            entries.append(parse_resolve(value))
        except ValueError as exc:
            raise ConfigError(f"{source}: readiness.resolve[{index}]: {exc}") from None
    ca_file = None
    if ready.ca_file is not None:
        ca_file = str((base / ready.ca_file).resolve())
        if not Path(ca_file).is_file():
            raise ConfigError(f"{source}: readiness.ca_file: {ready.ca_file}: no such file")
    return TargetOptions(resolve=tuple(entries), ca_file=ca_file)


def _host_port(value: str) -> tuple[str, int]:
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 443
    host, sep, port = value.rpartition(":")
    return (host, int(port)) if sep and port.isdigit() and ":" not in host else (value, 443)


def _check_waf_keys(source: str, ready: ReadinessSpec) -> None:
    from greenflag.readiness.waf.corpus import load_corpus
    from greenflag.readiness.waf.plan import ENCODERS, PLACEHOLDERS

    known = {s.id for s in load_corpus()} if any(item.classes for item in ready.waf) else set()
    for index, item in enumerate(ready.waf):
        for key, values, allowed in (
            ("classes", item.classes, known),
            ("placeholders", item.placeholders, set(PLACEHOLDERS)),
            ("encoders", item.encoders, set(ENCODERS)),
        ):
            for position, value in enumerate(values):
                if value not in allowed:
                    raise ConfigError(
                        f"{source}: readiness.waf[{index}].{key}[{position}]: {value!r} is not one of "
                        f"{', '.join(sorted(allowed))}"
                    )


def _waf_options(waf: WafCheckSpec) -> Any:
    from greenflag.readiness.waf.check import WafOptions
    from greenflag.readiness.waf.evaluate import Limits
    from greenflag.readiness.waf.score import Decision
    from greenflag.readiness.waf.send import SendLimits

    decision = Decision(
        frozenset(waf.block_status), frozenset(waf.pass_status), waf.block_regex, waf.pass_regex, waf.block_conn_reset
    )
    limits = Limits(waf.min_block_rate, waf.max_false_positive_rate, waf.max_unresolved_rate, waf.min_grade)
    send = SendLimits(waf.rate, waf.concurrency)
    return WafOptions(
        decision=decision,
        limits=limits,
        budget=waf.budget,
        send=send,
        sets=tuple(waf.classes),
        placeholders=tuple(waf.placeholders),
        encoders=tuple(waf.encoders),
    )


Call = Callable[[], Awaitable[CheckResult]]


def _call(registered: str, *args: Any, **kwargs: Any) -> Call:
    """A deferred call of the registered check: the module is imported when the check starts."""

    async def run() -> CheckResult:
        return await load(registered)(*args, **kwargs)

    return run


def _calls(spec: Spec, options: TargetOptions, base: Path) -> list[tuple[str, str, CheckItem, Call]]:
    """(kind, target, item, call) for every configured check, in the section's order."""
    ready = spec.readiness
    out: list[tuple[str, str, CheckItem, Call]] = []
    for tls in ready.tls:
        host, port = _host_port(tls.host)
        out.append(("tls", f"{host}:{port}", tls, _call("tls", host, port, sni=tls.sni, options=options,
                    min_grade=tls.min_grade, min_days=tls.min_days)))  # fmt: skip
    for dns in ready.dns:
        out.append(("dns", dns.name, dns, _call("dns", dns.name, resolvers=dns.resolvers, options=options,
                    nameservers=dns.nameservers, require_caa=dns.require_caa,
                    require_propagation=dns.require_propagation)))  # fmt: skip
    for waf in ready.waf:
        out.append(("waf", waf.url, waf, _call("waf", waf.url, waf=_waf_options(waf), options=options)))
    for item in ready.headers:
        out.append(
            (
                "headers",
                item.url,
                item,
                _call(
                    "headers",
                    item.url,
                    http_url=item.http_url,
                    https_url=item.https_url,
                    min_grade=item.min_grade,
                    options=options,
                ),
            )
        )
    for mon in ready.monitoring:
        out.append(
            (
                "monitoring",
                mon.prometheus,
                mon,
                _call(
                    "monitoring",
                    mon.prometheus,
                    jobs=mon.jobs,
                    selectors=mon.selectors,
                    alert_rules=mon.alert_rules,
                    min_alert_rules=mon.min_alert_rules,
                    require_runbook=mon.require_runbook,
                    options=options,
                ),
            )
        )
    for bak in ready.backups:
        directory = str(base / bak.directory) if bak.directory is not None else None
        drills = bak.drills
        records = str(base / (drills.directory or str(Path(spec.state_dir) / "drills"))) if drills else None
        label = directory or (" ".join(bak.command) if bak.command else str(records))
        out.append(
            (
                "backups",
                label,
                bak,
                _call(
                    "backups",
                    label=label,
                    directory=directory,
                    pattern=bak.pattern,
                    command=bak.command,
                    max_age=bak.max_age,
                    drills_directory=records,
                    drill_kind=drills.kind if drills else None,
                    drill_max_age=drills.max_age if drills else None,
                    timeout=bak.timeout or ready.timeout,
                ),
            )
        )
    for health in ready.health:
        out.append(
            (
                "health",
                health.url,
                health,
                _call(
                    "health",
                    health.url,
                    expect_status=health.expect_status,
                    body_contains=health.body_contains,
                    json_field=health.json_field,
                    max_latency=health.max_latency,
                    timeout=health.timeout or ready.timeout,
                ),
            )
        )
    for user in ready.checks:
        limit = user.timeout or ready.timeout
        if user.exec is not None:
            call = _call("checks", user.exec, label=user.name, timeout=limit)
        else:
            call = _call(
                "health",
                user.http,
                kind="check",
                label=user.name,
                expect_status=user.expect_status,
                body_contains=user.body_contains,
                json_field=user.json_field,
                timeout=limit,
            )
        out.append(("checks", user.name, user, call))
    return out


def plan_checklist(spec: Spec, *, only: Collection[str] | None = None) -> list[PlannedCheck]:
    """Validate what can only be checked here (resolve entries, CA file, WAF names) and list the checks to run;
    raises ConfigError (file and key path) before anything is sent."""
    source, base = _where(spec)
    options = _options(spec, base)
    _check_waf_keys(source, spec.readiness)
    default = spec.readiness.timeout
    return [
        PlannedCheck(kind, target, item, item.timeout or default, call)
        for kind, target, item, call in _calls(spec, options, base)
        if only is None or kind in only
    ]


def _apply(planned: PlannedCheck, result: CheckResult, elapsed: float) -> CheckResult:
    evidence = result.evidence
    target = result.target
    if planned.item.label:
        evidence, target = {**evidence, "target": result.target}, planned.item.label
    return dataclasses.replace(
        result,
        target=target,
        evidence=evidence,
        required=planned.item.required,
        duration_s=result.duration_s or elapsed,
    )


GRACE_S = 1.0  # checks that enforce their own timeout (commands) get this long to report it themselves


async def _guarded(planned: PlannedCheck) -> CheckResult:
    start = time.monotonic()
    name = "check" if planned.kind == "checks" else planned.kind  # a user check's results are named "check"
    try:
        result = await asyncio.wait_for(planned.call(), planned.timeout_s + GRACE_S)
    except TimeoutError:
        finding = Finding(
            f"{planned.kind}.timeout",
            Severity.HIGH,
            f"The {planned.kind} check did not finish within {planned.timeout_s:g} s.",
        )
        result = CheckResult(name, planned.target, Status.ERROR, (finding,))
    except ImportError as exc:
        finding = Finding(
            f"{planned.kind}.unavailable",
            Severity.HIGH,
            f"The {planned.kind} check is not available in this installation ({exc}).",
        )
        result = CheckResult(name, planned.target, Status.ERROR, (finding,))
    except Exception as exc:  # one broken check must not take the whole report down: it is an ERROR result
        finding = Finding(f"{planned.kind}.crashed", Severity.HIGH, f"{type(exc).__name__}: {exc}")
        result = CheckResult(name, planned.target, Status.ERROR, (finding,))
    return _apply(planned, result, time.monotonic() - start)


async def run_checklist(spec: Spec, *, only: Collection[str] | None = None) -> list[CheckResult]:
    """Run every configured check (or only the kinds in `only`) concurrently; results in the section's order."""
    planned = plan_checklist(spec, only=only)
    return list(await asyncio.gather(*(_guarded(p) for p in planned)))


def checklist_ok(results: list[CheckResult]) -> bool:
    """Ready when no required check failed or errored (a failed optional check is reported, not blocking)."""
    return all(result.ok for result in results if result.required)
