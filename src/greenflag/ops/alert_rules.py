"""Prometheus alerting rules over greenflag's series, with the spec's limits (pure): `greenflag ops alert-rules`.

The rules file has four groups: router (error rate, latency quantiles), rollout (rolled back, stuck degraded,
paused, controller stalled), backups (newest backup older than the RPO, restore drill failed or overdue) and
tls (certificate expiring). Every alert has `severity`, a `summary`, a `description` naming its limit and where
the limit came from, and a `runbook_url` pointing at its section of the incident-response runbook written by
`greenflag runbook` (`RUNBOOK/incident-response.md#<alert name in lower case>`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from greenflag.ops import metric_names as m
from greenflag.ops import promql
from greenflag.ops.limits import Limits, human_duration

__all__ = ["ALERTS", "Alert", "alert_rules", "render_alert_rules", "runbook_anchor"]

__pure__ = True

WINDOW = "5m"
CRITICAL_CERT_DAYS = 7.0


@dataclass(frozen=True)
class Alert:
    name: str
    group: str
    severity: str
    title: str  # one line: what it means
    first_steps: str  # what the on-call does first (the runbook expands it)


ALERTS: tuple[Alert, ...] = (
    Alert("GreenflagHighErrorRate", "router", "critical", "A backend answers too many requests with 5xx or fails them",
          "Find the backend in the alert; if it is a canary, abort the rollout; else look at the service's logs."),
    Alert("GreenflagHighLatency", "router", "warning", "A latency quantile of a backend is above its limit",
          "Compare the backends' latency; if only the new version is slow, abort the rollout."),
    Alert("GreenflagRolloutRolledBack", "rollout", "warning", "A rollout was rolled back by itself or by an operator",
          "Read the rollback event: it names the metric or probe, its value and its limit."),
    Alert("GreenflagRolloutStuckDegraded", "rollout", "critical", "A rollback has not completed",
          "Check the router's weights; put 100 % on the stable version by hand if the controller cannot."),
    Alert("GreenflagRolloutPaused", "rollout", "warning", "A rollout has been paused for a long time",
          "A pause step without a duration, or an inconclusive analysis, waits for promote, resume or abort."),
    Alert("GreenflagControllerStalled", "rollout", "critical", "The controller stopped ticking during a rollout",
          "Restart greenflag up (or rollout resume --wait): the journal lets it continue where it stopped."),
    Alert("GreenflagBackupTooOld", "backups", "critical", "The newest restorable backup is older than the RPO",
          "Check the backup job and WAL archiving; a restore now would lose more data than the objective allows."),
    Alert("GreenflagRestoreDrillFailed", "backups", "warning", "The last restore drill missed its objectives",
          "Read the drill record: RTO, RPO and writes lost against the objectives."),
    Alert("GreenflagRestoreDrillOverdue", "backups", "warning", "No restore drill has run recently",
          "Run a restore drill: a backup that was never restored is not known to restore."),
    Alert("GreenflagCertificateExpiringSoon", "tls", "warning", "A TLS certificate expires soon",
          "Renew the certificate (or fix the automatic renewal) and check the served chain again."),
    Alert("GreenflagCertificateExpiryCritical", "tls", "critical", "A TLS certificate expires within days",
          "Renew the certificate now."),
)


def runbook_anchor(name: str) -> str:
    """The Markdown heading anchor of an alert's runbook section (the heading is the alert name)."""
    return name.lower()


def _literal(text: str) -> str:
    """User text (metric names, conditions) as literal text in an annotation, which Prometheus templates."""
    return "{{ " + json.dumps(text) + " }}" if "{{" in text or "}}" in text else text


def _percent(value: float) -> str:
    return f"{value * 100:g} %"


def _rule(alert: str, expr: str, wait: str, summary: str, description: str, runbook: str) -> dict[str, Any]:
    spec = next(a for a in ALERTS if a.name == alert)
    return {
        "alert": alert,
        "expr": expr,
        "for": wait,
        "labels": {"severity": spec.severity, "team": "greenflag"},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"{runbook.rstrip('/')}/incident-response.md#{runbook_anchor(alert)}",
        },
    }


def _router_rules(limits: Limits, runbook: str) -> list[dict[str, Any]]:
    error = limits.error_rate
    rules = [
        _rule("GreenflagHighErrorRate", f"{promql.error_ratio(WINDOW)} > {error.value:g}", "2m",
              "{{ $labels.backend }} fails {{ $value | humanizePercentage }} of its requests",
              f"5xx responses and transport errors over {WINDOW}, per backend, above {_percent(error.value)} "
              f"(limit from {_literal(error.source)}).", runbook),
    ]  # fmt: skip
    for q, limit in sorted(limits.latency_s.items()):
        rule = _rule("GreenflagHighLatency", f"{promql.latency_quantile(q, WINDOW)} > {limit.value:g}", "5m",
                     f"{{{{ $labels.backend }}}} p{q * 100:g} latency is {{{{ $value | humanizeDuration }}}}",
                     f"p{q * 100:g} of request duration through the router over {WINDOW} above "
                     f"{human_duration(limit.value)} (limit from {_literal(limit.source)}); estimated within the "
                     "router's histogram buckets.", runbook)  # fmt: skip
        rule["labels"]["quantile"] = f"{q:g}"
        rules.append(rule)
    return rules


def _rollout_rules(service_sel: str, runbook: str) -> list[dict[str, Any]]:
    phase = m.ROLLOUT_PHASE.name
    active = promql.join(service_sel, 'phase=~"Progressing|Paused|Degraded"')
    degraded = promql.join(service_sel, 'phase="Degraded"')
    paused = promql.join(service_sel, 'phase="Paused"')
    return [
        _rule("GreenflagRolloutRolledBack", f"increase({m.ROLLOUT_ROLLBACKS.sample}{{{service_sel}}}[15m]) > 0",
              "0m", "A rollout of {{ $labels.service }} was rolled back",
              "The controller counted a rollback in the last 15 minutes; `greenflag rollout status` shows the "
              "trigger, its value and its limit.", runbook),
        _rule("GreenflagRolloutStuckDegraded", f"{phase}{{{degraded}}} == 1",
              "5m", "The rollback of {{ $labels.service }} has not completed",
              "The rollout has been Degraded (rolling back) for 5 minutes.", runbook),
        _rule("GreenflagRolloutPaused", f"{phase}{{{paused}}} == 1",
              "30m", "The rollout of {{ $labels.service }} has been paused for 30 minutes",
              "The canary keeps its share of traffic while paused; promote, resume or abort it.", runbook),
        _rule("GreenflagControllerStalled",
              f"(time() - {m.CONTROLLER_LAST_TICK.name}{{{service_sel}}} > 60)"
              f" and on (service) ({phase}{{{active}}} == 1)",
              "1m", "The controller of {{ $labels.service }} stopped during a rollout",
              "No controller tick for over 60 s while a rollout is in progress: traffic stays split where it "
              "was.", runbook),
    ]  # fmt: skip


def _backup_rules(limits: Limits, service_sel: str, runbook: str) -> list[dict[str, Any]]:
    rpo, age = limits.rpo_s, limits.drill_max_age_s
    return [
        _rule("GreenflagBackupTooOld", f"time() - {m.BACKUP_NEWEST.name}{{{service_sel}}} > {rpo.value:g}", "0m",
              "The newest {{ $labels.kind }} backup of {{ $labels.service }} is {{ $value | humanizeDuration }} old",
              f"Older than the RPO of {human_duration(rpo.value)} (from {_literal(rpo.source)}).", runbook),
        _rule("GreenflagRestoreDrillFailed", f"{m.DRILL_OK.name} == 0", "0m",
              "The last {{ $labels.kind }} restore drill missed its objectives",
              "greenflag drill reported RTO, RPO or lost writes beyond the objectives.", runbook),
        _rule("GreenflagRestoreDrillOverdue", f"time() - {m.DRILL_LAST_RUN.name} > {age.value:g}", "0m",
              "No {{ $labels.kind }} restore drill for {{ $value | humanizeDuration }}",
              f"The last drill is older than {human_duration(age.value)} (from {_literal(age.source)}).", runbook),
    ]  # fmt: skip


def _tls_rules(limits: Limits, runbook: str) -> list[dict[str, Any]]:
    days = limits.cert_days
    left = f"({m.TLS_CERT_EXPIRY.name} - time())"
    rules = [
        _rule("GreenflagCertificateExpiringSoon", f"{left} < {days.value * 86400:g}", "0m",
              "The certificate of {{ $labels.target }} expires in {{ $value | humanizeDuration }}",
              f"Less than {days.value:g} days left (limit from {_literal(days.source)}).", runbook),
    ]  # fmt: skip
    if days.value > CRITICAL_CERT_DAYS:
        rules.append(_rule("GreenflagCertificateExpiryCritical", f"{left} < {CRITICAL_CERT_DAYS * 86400:g}", "0m",
                           "The certificate of {{ $labels.target }} expires in {{ $value | humanizeDuration }}",
                           f"Less than {CRITICAL_CERT_DAYS:g} days left.", runbook))  # fmt: skip
    return rules


def alert_rules(limits: Limits, *, service: str | None = None, runbook: str = "runbooks") -> dict[str, Any]:
    """The rules document ({"groups": [...]}). With `service`, controller and backup series are filtered to it."""
    service_sel = promql.matcher("service", service) if service else ""
    prefix = f"greenflag-{service}" if service else "greenflag"
    groups = [
        ("router", _router_rules(limits, runbook)),
        ("rollout", _rollout_rules(service_sel, runbook)),
        ("backups", _backup_rules(limits, service_sel, runbook)),
        ("tls", _tls_rules(limits, runbook)),
    ]
    return {"groups": [{"name": f"{prefix}-{name}", "rules": rules} for name, rules in groups]}


def render_alert_rules(limits: Limits, *, service: str | None = None, runbook: str = "runbooks") -> str:
    """The rules file as YAML (for `rule_files:` in prometheus.yml; `promtool check rules` passes it)."""
    head = "# Prometheus alerting rules for greenflag (greenflag ops alert-rules). Limits:\n"
    head += f"#   error rate {_percent(limits.error_rate.value)} ({limits.error_rate.source})\n"
    for q, limit in sorted(limits.latency_s.items()):
        head += f"#   p{q * 100:g} {human_duration(limit.value)} ({limit.source})\n"
    head += f"#   RPO {human_duration(limits.rpo_s.value)} ({limits.rpo_s.source})\n"
    body = yaml.safe_dump(alert_rules(limits, service=service, runbook=runbook), sort_keys=False, width=1000)
    return head + body
