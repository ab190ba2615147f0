"""The limits alerts and alarms are held to, read from the release spec where it has them (pure).

- error rate: the strictest `router` analysis metric on `error_rate` (`failure_condition: result > X` or
  `success_condition: result < X`), else `load.thresholds.http_req_failed` (`rate<X`), else 1 %.
- latency: per quantile, the strictest `router` analysis metric on `p50_ms` / `p95_ms` / `p99_ms`, else
  `load.thresholds.http_req_duration` (`p(95)<X`, milliseconds), else p95 3 s.
- RPO: the strictest `readiness.backups[].max_age`, else 5 minutes (the restore drills' default objective).
- restore drill age: the strictest `readiness.backups[].drills.max_age`, else 30 days. Certificate expiry: 21 days.

Each limit carries where it came from, so an alert's description can say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from greenflag.spec import Spec

__all__ = ["DEFAULTS", "Limit", "Limits", "human_duration", "limits_from_spec"]

__pure__ = True

_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
_FAILURE = re.compile(rf"^\s*result\s*(>=|>)\s*{_NUMBER}\s*$")
_SUCCESS = re.compile(rf"^\s*result\s*(<=|<)\s*{_NUMBER}\s*$")
_K6_RATE = re.compile(rf"^\s*rate\s*(<=|<)\s*{_NUMBER}\s*$")
_K6_QUANTILE = re.compile(rf"^\s*p\(\s*([0-9]+(?:\.[0-9]+)?)\s*\)\s*(<=|<)\s*{_NUMBER}\s*$")
_ROUTER_QUANTILES = {"p50_ms": 0.5, "p95_ms": 0.95, "p99_ms": 0.99}


@dataclass(frozen=True)
class Limit:
    value: float
    source: str  # "analysis.metrics[0] (error-rate): result > 0.01", "default", "--error-rate"


@dataclass(frozen=True)
class Limits:
    error_rate: Limit  # ratio of 5xx + transport errors to requests
    latency_s: dict[float, Limit] = field(default_factory=dict)  # quantile → seconds
    rpo_s: Limit = Limit(300.0, "default")
    drill_max_age_s: Limit = Limit(30 * 86400.0, "default")
    cert_days: Limit = Limit(21.0, "default")

    def override(
        self,
        *,
        error_rate: float | None = None,
        p95_s: float | None = None,
        rpo_s: float | None = None,
        drill_max_age_s: float | None = None,
        cert_days: float | None = None,
    ) -> Limits:
        """These limits with command-line values in place of the spec's."""
        out = self
        if error_rate is not None:
            out = replace(out, error_rate=Limit(error_rate, "--error-rate"))
        if p95_s is not None:
            out = replace(out, latency_s={**out.latency_s, 0.95: Limit(p95_s, "--p95")})
        if rpo_s is not None:
            out = replace(out, rpo_s=Limit(rpo_s, "--rpo"))
        if drill_max_age_s is not None:
            out = replace(out, drill_max_age_s=Limit(drill_max_age_s, "--drill-max-age"))
        if cert_days is not None:
            out = replace(out, cert_days=Limit(cert_days, "--cert-days"))
        return out


DEFAULTS = Limits(error_rate=Limit(0.01, "default"), latency_s={0.95: Limit(3.0, "default")})


def human_duration(seconds: float) -> str:
    """'30 days', '6 h', '5 min', '3 s', '800 ms' — for descriptions and runbooks."""
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0)):
        if seconds >= size and (seconds / size >= 2 or unit == "s" or seconds % size == 0):
            return f"{seconds / size:.3g} {unit}" if unit != "days" or seconds != size else "1 day"
    return f"{seconds * 1000:.3g} ms"


def _condition_limit(metric: Any) -> tuple[float, str] | None:
    """X from `failure_condition: result > X` (or `success_condition: result < X`), with the condition's text."""
    for text, pattern in ((metric.failure_condition, _FAILURE), (metric.success_condition, _SUCCESS)):
        if text and (match := pattern.match(text)):
            return float(match.group(2)), text.strip()
    return None


def _strictest(current: Limit | None, value: float, source: str) -> Limit:
    return Limit(value, source) if current is None or value < current.value else current


def _from_analysis(spec: Spec) -> tuple[Limit | None, dict[float, Limit]]:
    error: Limit | None = None
    latency: dict[float, Limit] = {}
    for index, metric in enumerate(spec.analysis.metrics):
        if metric.provider != "router":
            continue
        found = _condition_limit(metric)
        if found is None:
            continue
        value, text = found
        source = f"analysis.metrics[{index}] ({metric.name}): {text}"
        query = metric.query.strip()
        if query == "error_rate":
            error = _strictest(error, value, source)
        elif query in _ROUTER_QUANTILES:
            q = _ROUTER_QUANTILES[query]
            latency[q] = _strictest(latency.get(q), value / 1000.0, source)
    return error, latency


def _from_load(spec: Spec) -> tuple[Limit | None, dict[float, Limit]]:
    error: Limit | None = None
    latency: dict[float, Limit] = {}
    if spec.load is None:
        return error, latency
    for expr in spec.load.thresholds.get("http_req_failed", []):
        if match := _K6_RATE.match(expr):
            error = _strictest(error, float(match.group(2)), f"load.thresholds.http_req_failed: {expr.strip()}")
    for expr in spec.load.thresholds.get("http_req_duration", []):
        if match := _K6_QUANTILE.match(expr):
            q = round(float(match.group(1)) / 100.0, 4)
            source = f"load.thresholds.http_req_duration: {expr.strip()}"
            latency[q] = _strictest(latency.get(q), float(match.group(3)) / 1000.0, source)
    return error, latency


def _backup_limits(spec: Spec) -> tuple[Limit | None, Limit | None]:
    """The strictest RPO (`readiness.backups[i].max_age`) and drill age (`readiness.backups[i].drills.max_age`)."""
    rpo: Limit | None = None
    drill: Limit | None = None
    for i, item in enumerate(spec.readiness.backups):
        if item.max_age is not None and (rpo is None or item.max_age < rpo.value):
            rpo = Limit(item.max_age, f"readiness.backups[{i}].max_age")
        if item.drills is not None and (drill is None or item.drills.max_age < drill.value):
            drill = Limit(item.drills.max_age, f"readiness.backups[{i}].drills.max_age")
    return rpo, drill


def limits_from_spec(spec: Spec | None) -> Limits:
    """The limits for `spec` (DEFAULTS for None). ValueError names a malformed readiness key."""
    if spec is None:
        return DEFAULTS
    a_error, a_latency = _from_analysis(spec)
    l_error, l_latency = _from_load(spec)
    latency = {**DEFAULTS.latency_s, **l_latency, **a_latency}
    out = replace(DEFAULTS, error_rate=a_error or l_error or DEFAULTS.error_rate, latency_s=latency)
    rpo, drill = _backup_limits(spec)
    if rpo is not None:
        out = replace(out, rpo_s=rpo)
    if drill is not None:
        out = replace(out, drill_max_age_s=drill)
    return out
