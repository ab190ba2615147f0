"""A Grafana dashboard (classic JSON model) over greenflag's series (pure): `greenflag ops grafana`.

Rows: traffic (request rate, error rate, latency p50/p95/p99, in-flight, the router's weights per backend),
rollout (phase, step, the controller's weights, analysis verdicts, rollbacks) and data safety (backup age,
restore drills, certificate expiry). Annotations mark rollbacks and promotions. Variables: `datasource`
(any Prometheus), `job` (the scrape jobs of greenflag routers) and `service` (rollouts). Thresholds drawn on
the error-rate and latency panels are the limits the alert rules use.
"""

from __future__ import annotations

import json
from typing import Any

from greenflag.ops import metric_names as m
from greenflag.ops import promql
from greenflag.ops.limits import Limits

__all__ = ["SCHEMA_VERSION", "dashboard", "expressions", "render_dashboard"]

__pure__ = True

SCHEMA_VERSION = 41  # Grafana 12's classic dashboard model; older Grafana versions import it too
DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
JOB = 'job=~"$job"'
SERVICE = 'service=~"$service"'


def _target(expr: str, legend: str, ref: str) -> dict[str, Any]:
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref, "range": True}


def _thresholds(limit: float | None) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if limit is not None:
        steps.append({"color": "red", "value": limit})
    return {"mode": "absolute", "steps": steps}


def _panel(
    kind: str,
    title: str,
    targets: list[tuple[str, str]],
    *,
    unit: str = "short",
    limit: float | None = None,
    description: str = "",
    width: int = 8,
    options: dict[str, Any] | None = None,
    mappings: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    if kind == "timeseries":
        custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
                  "thresholdsStyle": {"mode": "line" if limit is not None else "off"}}  # fmt: skip
    refs = "ABCDEFGH"
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"h": 8, "w": width, "x": 0, "y": 0},
        "fieldConfig": {
            "defaults": {"unit": unit, "custom": custom, "thresholds": _thresholds(limit), "mappings": mappings or []},
            "overrides": [],
        },
        "options": options or {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                               "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": [_target(expr, legend, refs[i]) for i, (expr, legend) in enumerate(targets)],
    }


def _row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0},
            "panels": []}  # fmt: skip


def _traffic(limits: Limits) -> list[dict[str, Any]]:
    p95 = limits.latency_s.get(0.95)
    quantiles = [(promql.latency_quantile(q, RATE, "backend", JOB), f"p{q * 100:g} {{{{backend}}}}")
                 for q in (0.5, 0.95, 0.99)]  # fmt: skip
    return [
        _row("Traffic"),
        _panel("timeseries", "Request rate", [(promql.request_rate(RATE, "backend", JOB), "{{backend}}")],
               unit="reqps", description="Requests finished per second, per backend, at the router."),
        _panel("timeseries", "Error rate", [(promql.error_ratio(RATE, "backend", JOB), "{{backend}}")],
               unit="percentunit", limit=limits.error_rate.value,
               description="5xx responses and transport errors over requests, per backend. The red line is the "
                           "alert's limit."),
        _panel("timeseries", "Latency p50 / p95 / p99", quantiles, unit="s", limit=p95.value if p95 else None,
               description="Request duration through the router, estimated within its histogram buckets. The red "
                           "line is the p95 limit."),
        _panel("timeseries", "Router weights", [(f"sum by (backend) ({m.ROUTER_WEIGHT.name}{{{JOB}}})",
                                                 "{{backend}}")],
               description="The weight each backend has at the router (what traffic really follows)."),
        _panel("timeseries", "In flight", [(f"sum by (backend) ({m.ROUTER_IN_FLIGHT.name}{{{JOB}}})", "{{backend}}")],
               description="Requests open at the router, per backend (draining backends go to 0)."),
    ]  # fmt: skip


def _rollout() -> list[dict[str, Any]]:
    phase_map = [{"type": "value", "options": {"0": {"text": "-", "color": "transparent"},
                                               "1": {"text": "current", "color": "blue"}}}]  # fmt: skip
    stat = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "textMode": "value_and_name",
            "colorMode": "value", "graphMode": "none"}  # fmt: skip
    return [
        _row("Rollout"),
        _panel("state-timeline", "Phase", [(f"max by (phase) ({m.ROLLOUT_PHASE.name}{{{SERVICE}}})", "{{phase}}")],
               mappings=phase_map, options={"showValue": "never", "mergeValues": True, "rowHeight": 0.8},
               description="Healthy, Progressing, Paused, Degraded (rolling back) or RolledBack."),
        _panel("stat", "Step", [(f"max by (service) ({m.ROLLOUT_STEP.name}{{{SERVICE}}})", "step {{service}}"),
                                (f"max by (service) ({m.ROLLOUT_STEPS.name}{{{SERVICE}}})", "of {{service}}")],
               options=stat, width=4, description="The current canary step and the number of steps."),
        _panel("stat", "Rollbacks", [(f"sum by (service) (increase({m.ROLLOUT_ROLLBACKS.sample}{{{SERVICE}}}"
                                      "[$__range]))", "{{service}}")],
               options=stat, width=4, limit=1, description="Rollbacks in the dashboard's time range."),
        _panel("timeseries", "Controller weights", [(f"max by (backend) ({m.ROLLOUT_WEIGHT.name}{{{SERVICE}}})",
                                                     "{{backend}}")],
               description="The weights the controller has applied, per version."),
        _panel("state-timeline", "Analysis verdicts",
               [(f"max by (metric, verdict) ({m.ANALYSIS_VERDICT.name}{{{SERVICE}}}) == 1", "{{metric}}: {{verdict}}")],
               options={"showValue": "never", "mergeValues": True, "rowHeight": 0.8}, width=16,
               description="Each analysis metric's latest verdict (Successful, Failed, Inconclusive, Error)."),
        _panel("timeseries", "Load thresholds", [(f"min by (metric, threshold) ({m.THRESHOLD_OK.name}{{{SERVICE}}})",
                                                  "{{metric}} {{threshold}}")],
               description="1 while a threshold holds, 0 once crossed."),
    ]  # fmt: skip


def _data(limits: Limits) -> list[dict[str, Any]]:
    stat = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "textMode": "value_and_name",
            "colorMode": "background", "graphMode": "none"}  # fmt: skip
    return [
        _row("Data safety"),
        _panel("stat", "Backup age", [(f"time() - max by (service, kind) ({m.BACKUP_NEWEST.name})",
                                       "{{service}} {{kind}}")],
               unit="s", limit=limits.rpo_s.value, options=stat,
               description="Age of the newest restorable backup; red beyond the RPO."),
        _panel("stat", "Restore drills", [(f"max by (kind) ({m.DRILL_RTO.name})", "RTO {{kind}}"),
                                          (f"max by (kind) ({m.DRILL_RPO.name})", "RPO {{kind}}")],
               unit="s", options=stat, description="RTO and RPO measured by the last restore drill."),
        _panel("stat", "Certificate days left",
               [(f"(min by (target) ({m.TLS_CERT_EXPIRY.name}) - time()) / 86400", "{{target}}")],
               unit="d", options={**stat, "colorMode": "value"},
               description="Days until the earliest certificate of each checked endpoint expires."),
    ]  # fmt: skip


def _layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    x = y = row_h = 0
    for pid, panel in enumerate(panels, start=1):
        panel["id"] = pid
        grid = panel["gridPos"]
        if panel["type"] == "row" or x + grid["w"] > 24:
            x, y = 0, y + row_h
            row_h = 0
        grid["x"], grid["y"] = x, y
        row_h = max(row_h, grid["h"])
        x += grid["w"]
        if panel["type"] == "row":
            x, y, row_h = 0, y + grid["h"], 0
    return panels


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "query", "datasource": DS, "query": {"query": query, "refId": name},
            "definition": query, "refresh": 2, "includeAll": True, "multi": True, "allValue": ".+",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "sort": 1}  # fmt: skip


def _annotation(name: str, expr: str, color: str, text: str) -> dict[str, Any]:
    return {"name": name, "datasource": DS, "enable": True, "iconColor": color, "expr": expr, "step": "15s",
            "titleFormat": name, "textFormat": text, "useValueForTime": False}  # fmt: skip


def dashboard(limits: Limits, *, service: str | None = None) -> dict[str, Any]:
    """The dashboard model; with `service`, the service variable starts on it and the uid names it."""
    variables = [
        {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
         "current": {}, "refresh": 1},
        _variable("job", "Router job", f"label_values({m.ROUTER_REQUESTS.sample}, job)"),
        _variable("service", "Service", f"label_values({m.ROLLOUT_PHASE.name}, service)"),
    ]  # fmt: skip
    if service:
        variables[2]["current"] = {"selected": True, "text": [service], "value": [service]}
    builtin = {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
               "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}  # fmt: skip
    return {
        "uid": f"greenflag-{service}"[:40] if service else "greenflag",
        "title": f"greenflag — {service}" if service else "greenflag",
        "description": "Traffic through the greenflag router, rollouts, analysis verdicts and data safety.",
        "tags": ["greenflag"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "templating": {"list": variables},
        "annotations": {"list": [
            builtin,
            _annotation("Rollbacks", f"changes({m.ROLLOUT_ROLLBACKS.sample}{{{SERVICE}}}[1m]) > 0", "red",
                        "{{service}} rolled back"),
            _annotation("Promotions", f"changes({m.ROLLOUT_PROMOTIONS.sample}{{{SERVICE}}}[1m]) > 0", "green",
                        "{{service}} promoted"),
        ]},
        "panels": _layout([*_traffic(limits), *_rollout(), *_data(limits)]),
    }


def expressions(model: dict[str, Any]) -> list[tuple[str, str]]:
    """Every PromQL expression in a dashboard model, as (where, expr): panel targets, annotations, variables."""
    out = [(f"panel {p['title']!r} {t['refId']}", t["expr"]) for p in model["panels"] for t in p.get("targets", [])]
    out += [(f"annotation {a['name']!r}", a["expr"]) for a in model["annotations"]["list"] if "expr" in a]
    return out


def render_dashboard(limits: Limits, *, service: str | None = None) -> str:
    """The dashboard as JSON, for Grafana's Import (or a provisioning directory)."""
    return json.dumps(dashboard(limits, service=service), indent=2) + "\n"
