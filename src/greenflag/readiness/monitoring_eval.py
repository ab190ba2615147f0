"""Judge what Prometheus says about a service (pure): are its targets scraped and up, are its alerts loaded.

Facts come from Prometheus' HTTP API (`/api/v1/query` for `up{...}`, `/api/v1/rules?type=alert`): a job passes
when it has at least one `up` series and every one is 1; the alert rules pass when every named alert is loaded,
there are at least `min_alert_rules`, none fails to evaluate (health "err"), and, if asked, each has a
`runbook_url` annotation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from greenflag.readiness.base import CheckResult, Finding, Severity, Status

__all__ = ["AlertRule", "MonitoringFacts", "evaluate_monitoring"]

__pure__ = True


@dataclass(frozen=True)
class AlertRule:
    name: str
    group: str
    health: str = "ok"  # ok, err, unknown
    last_error: str = ""
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MonitoringFacts:
    address: str
    up: dict[str, list[tuple[str, float]]]  # selector → (instance, value) per up series
    rules: tuple[AlertRule, ...] = ()
    error: str | None = None  # Prometheus could not be asked


def evaluate_monitoring(
    facts: MonitoringFacts, *, alert_rules: list[str], min_alert_rules: int = 1, require_runbook: bool = False
) -> CheckResult:
    if facts.error is not None:
        finding = Finding("monitoring.unreachable", Severity.HIGH, f"Prometheus at {facts.address}: {facts.error}.")
        return CheckResult("monitoring", facts.address, Status.ERROR, (finding,))
    findings: list[Finding] = []
    for selector, series in facts.up.items():
        down = [instance for instance, value in series if value != 1]
        if not series:
            findings.append(
                Finding(
                    "monitoring.not_scraped",
                    Severity.HIGH,
                    f"Prometheus scrapes nothing for up{selector}: add a scrape job for the service.",
                )
            )
        elif down:
            findings.append(
                Finding(
                    "monitoring.target_down",
                    Severity.HIGH,
                    f"up{selector} is 0 for {', '.join(sorted(down))}: Prometheus cannot scrape it.",
                    {"down": sorted(down)},
                )
            )
    loaded = {rule.name for rule in facts.rules}
    missing = [name for name in alert_rules if name not in loaded]
    if missing:
        findings.append(
            Finding(
                "monitoring.alert_missing",
                Severity.HIGH,
                f"Alert rule{'s' if len(missing) > 1 else ''} not loaded: {', '.join(missing)}.",
                {"missing": missing},
            )
        )
    if len(facts.rules) < min_alert_rules:
        findings.append(
            Finding(
                "monitoring.too_few_alerts",
                Severity.HIGH,
                f"{len(facts.rules)} alert rules loaded, at least {min_alert_rules} expected.",
            )
        )
    broken = [rule for rule in facts.rules if rule.health == "err"]
    for rule in broken:
        findings.append(
            Finding(
                "monitoring.alert_broken",
                Severity.HIGH,
                f"Alert {rule.name} ({rule.group}) fails to evaluate: {rule.last_error}.",
            )
        )
    if require_runbook:
        bare = sorted(rule.name for rule in facts.rules if not rule.annotations.get("runbook_url"))
        if bare:
            findings.append(
                Finding(
                    "monitoring.no_runbook",
                    Severity.MEDIUM,
                    f"Alert rules without a runbook_url annotation: {', '.join(bare)}.",
                )
            )
    status = (
        Status.FAIL if any(f.severity is Severity.HIGH for f in findings) else Status.WARN if findings else Status.PASS
    )
    evidence: dict[str, Any] = {
        "up": {selector: [{"instance": i, "value": v} for i, v in series] for selector, series in facts.up.items()},
        "alert_rules": sorted(loaded),
    }
    return CheckResult("monitoring", facts.address, status, tuple(findings), evidence=evidence)
