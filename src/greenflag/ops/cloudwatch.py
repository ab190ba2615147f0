"""CloudWatch alarms for a release behind an AWS Application Load Balancer (pure): `greenflag ops cloudwatch-alarms`.

Alarms (names `greenflag-SERVICE-…`, so re-running updates them in place):

- `…-BACKEND-5xx-rate` per target group: metric math `100 * FILL(m1, 0) / m2` over `HTTPCode_Target_5XX_Count`
  (m1, Sum) and `RequestCount` (m2, Sum), dimensions `TargetGroup` + `LoadBalancer`; above the error-rate limit
  in percent. FILL because the ALB publishes no 5xx datapoint when there were none.
- `…-alb-5xx-rate`: the same over the whole load balancer, counting the balancer's own 5xx
  (`HTTPCode_ELB_5XX_Count`: no healthy target, timeouts) beside the targets'.
- `…-BACKEND-p95` per target group: `TargetResponseTime` extended statistic `p95`, above the p95 limit (s).
- `…-rollbacks`: the controller's `Greenflag` / `Rollbacks` metric (dimension `Service`), Sum > 0.

Every alarm: period 60 s, 2 of 3 datapoints to alarm, missing data = not breaching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from greenflag.errors import ConfigError
from greenflag.ops import metric_names as m
from greenflag.ops.alert_rules import runbook_anchor
from greenflag.ops.limits import Limits
from greenflag.spec import Spec
from greenflag.spec.router import AlbRouterSpec

__all__ = ["AlbSettings", "alarm_definitions", "alb_settings", "load_balancer_dimension", "target_group_dimension"]

__pure__ = True

NAMESPACE = "AWS/ApplicationELB"
_ELB = r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:"
_LISTENER = re.compile(_ELB + r"listener/(app/[^/]+/[0-9a-f]+)/[0-9a-f]+$")
_LOAD_BALANCER = re.compile(_ELB + r"loadbalancer/(app/[^/]+/[0-9a-f]+)$")
_TARGET_GROUP = re.compile(_ELB + r"(targetgroup/[^/]+/[0-9a-f]+)$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class AlbSettings:
    region: str
    listener_arn: str
    target_groups: dict[str, str]  # backend name → target group ARN
    test_listener_arn: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # setting → where it came from (for error messages)


def alb_settings(
    spec: Spec,
    *,
    region: str | None = None,
    listener_arn: str | None = None,
    target_groups: dict[str, str] | None = None,
) -> AlbSettings:
    """THE accessor for the ALB settings: command-line values first, then the spec's `router:` (`kind: alb`
    with `region`, `listener_arn`, `test_listener_arn`, `target_groups: {blue: ARN, green: ARN}`).
    ConfigError names what is missing or malformed.
    """
    router = spec.router
    alb = router if isinstance(router, AlbRouterSpec) else None
    sources = {"region": "--region", "listener_arn": "--listener-arn", "target_groups": "--target-group"}
    if region is None and alb is not None:
        region, sources["region"] = alb.region, "router.region"
    if listener_arn is None and alb is not None:
        listener_arn, sources["listener_arn"] = alb.listener_arn, "router.listener_arn"
    if not target_groups and alb is not None:
        target_groups, sources["target_groups"] = alb.target_groups, "router.target_groups"
    test_listener = alb.test_listener_arn if alb is not None else None
    where = f"{spec.source}: " if spec.source else ""
    hint = "(an ALB release: router.kind alb with region, listener_arn and target_groups, or the command's options)"
    if not isinstance(region, str) or not _REGION.match(region):
        raise ConfigError(f"{where}{sources['region']}: expected an AWS region such as eu-west-1, "
                          f"got {region!r} {hint}")
    if not isinstance(listener_arn, str) or not _LISTENER.match(listener_arn):
        raise ConfigError(f"{where}{sources['listener_arn']}: expected an ALB listener ARN "
                          f"(arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID), "
                          f"got {listener_arn!r}")
    if not isinstance(target_groups, dict) or not target_groups:
        raise ConfigError(f"{where}{sources['target_groups']}: expected a mapping backend → target group ARN {hint}")
    for name, arn in target_groups.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{where}{sources['target_groups']}: backend name {name!r}: "
                              "expected letters, digits, . _ -")
        if not isinstance(arn, str) or not _TARGET_GROUP.match(arn):
            raise ConfigError(f"{where}{sources['target_groups']}.{name}: expected a target group ARN "
                              f"(arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID), got {arn!r}")
    return AlbSettings(region, listener_arn, dict(target_groups),
                       test_listener if isinstance(test_listener, str) else None, sources)  # fmt: skip


def load_balancer_dimension(arn: str) -> str:
    """`app/NAME/ID`, CloudWatch's LoadBalancer dimension, from a listener or load balancer ARN."""
    match = _LISTENER.match(arn) or _LOAD_BALANCER.match(arn)
    if match is None:
        raise ValueError(f"not an ALB listener or load balancer ARN: {arn!r}")
    return match.group(1)


def target_group_dimension(arn: str) -> str:
    """`targetgroup/NAME/ID`, CloudWatch's TargetGroup dimension, from a target group ARN."""
    match = _TARGET_GROUP.match(arn)
    if match is None:
        raise ValueError(f"not a target group ARN: {arn!r}")
    return match.group(1)


def _stat(query_id: str, metric: str, dims: list[dict[str, str]], stat: str = "Sum") -> dict[str, Any]:
    return {"Id": query_id, "ReturnData": False,
            "MetricStat": {"Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dims},
                           "Period": 60, "Stat": stat}}  # fmt: skip


def _common(name: str, description: str, actions: list[str]) -> dict[str, Any]:
    return {"AlarmName": name, "AlarmDescription": description[:1024], "ActionsEnabled": bool(actions),
            "AlarmActions": list(actions), "OKActions": list(actions), "EvaluationPeriods": 3, "DatapointsToAlarm": 2,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}  # fmt: skip


def _rate_alarm(name: str, description: str, dims: list[dict[str, str]], five_xx: list[str], limit: float,
                actions: list[str]) -> dict[str, Any]:  # fmt: skip
    queries = [_stat(f"m{i + 1}", metric, dims) for i, metric in enumerate(five_xx)]
    total = _stat("total", "RequestCount", dims)
    errors = " + ".join(f"FILL({q['Id']}, 0)" for q in queries)
    expression = {"Id": "e1", "Expression": f"100 * ({errors}) / total", "Label": "5xx rate (%)", "ReturnData": True}
    return {**_common(name, description, actions), "Metrics": [*queries, total, expression], "Threshold": limit * 100}


def alarm_definitions(
    settings: AlbSettings, limits: Limits, service: str, *, actions: list[str] | None = None, runbook: str = "runbooks"
) -> list[dict[str, Any]]:
    """The `PutMetricAlarm` requests, in order."""
    acts = list(actions or [])
    error, p95 = limits.error_rate, limits.latency_s[0.95]
    lb = [{"Name": "LoadBalancer", "Value": load_balancer_dimension(settings.listener_arn)}]
    link = f"{runbook.rstrip('/')}/incident-response.md#"
    alarms = [
        _rate_alarm(f"greenflag-{service}-alb-5xx-rate",
                    f"{service}: 5xx (ALB and targets) above {error.value * 100:g} % of requests (limit from "
                    f"{error.source}). Runbook: {link}{runbook_anchor('GreenflagHighErrorRate')}",
                    lb, ["HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"], error.value, acts),
    ]  # fmt: skip
    for backend, arn in sorted(settings.target_groups.items()):
        dims = [{"Name": "TargetGroup", "Value": target_group_dimension(arn)}, *lb]
        alarms.append(_rate_alarm(
            f"greenflag-{service}-{backend}-5xx-rate",
            f"{service} {backend}: target 5xx above {error.value * 100:g} % of requests (limit from {error.source}). "
            f"Runbook: {link}{runbook_anchor('GreenflagHighErrorRate')}", dims, ["HTTPCode_Target_5XX_Count"],
            error.value, acts))  # fmt: skip
        alarms.append({
            **_common(f"greenflag-{service}-{backend}-p95",
                      f"{service} {backend}: p95 target response time above {p95.value:g} s (limit from "
                      f"{p95.source}). Runbook: {link}{runbook_anchor('GreenflagHighLatency')}", acts),
            "Namespace": NAMESPACE, "MetricName": "TargetResponseTime", "Dimensions": dims,
            "ExtendedStatistic": "p95", "Period": 60, "Unit": "Seconds", "Threshold": p95.value,
        })  # fmt: skip
    rollbacks = _common(f"greenflag-{service}-rollbacks",
                        f"{service}: greenflag rolled a release back (metric {m.CLOUDWATCH_NAMESPACE}/"
                        f"{m.CLOUDWATCH_ROLLBACKS}, published by the controller). "
                        f"Runbook: {link}{runbook_anchor('GreenflagRolloutRolledBack')}", acts)  # fmt: skip
    rollbacks.update(
        Namespace=m.CLOUDWATCH_NAMESPACE, MetricName=m.CLOUDWATCH_ROLLBACKS, Statistic="Sum", Period=60,
        Dimensions=[{"Name": m.CLOUDWATCH_SERVICE_DIMENSION, "Value": service}], Threshold=0.0,
        EvaluationPeriods=1, DatapointsToAlarm=1,
    )  # fmt: skip
    alarms.append(rollbacks)
    return alarms
