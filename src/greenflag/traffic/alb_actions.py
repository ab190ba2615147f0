"""The ALB's listener actions as data (pure): checking the `router:` keys of `kind: alb`, reading the weights of a
listener's (or rule's) forward action, and writing a new one that names every configured target group.

A listener's actions end with one *terminal* action (the one with the highest `Order`): `forward`, `fixed-response`
or `redirect`; `authenticate-oidc` / `authenticate-cognito` actions may come before it. greenflag replaces only the
terminal action and keeps the others, and keeps the forward action's target group stickiness as it was.

- Weights are ALB weights, 0-999 per target group, written as given (greenflag's percentages are exact).
- When every target group would get 0, the terminal action becomes a `fixed-response` 503 instead: AWS documents
  no meaning for a forward action whose weights are all 0, and a 503 is what greenflag's own router answers when no
  backend takes traffic. Reading a fixed-response back gives no weights at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from greenflag.spec import AlbRouterSpec

__all__ = [
    "MAX_WEIGHT",
    "NO_BACKEND_BODY",
    "check_alb",
    "forward_weights",
    "same_traffic",
    "target_group_name",
    "with_weights",
]
__pure__ = True

MAX_WEIGHT = 999  # AWS: a target group's weight in a forward action is 0-999
NO_BACKEND_BODY = "greenflag: no backend takes traffic"
_ELB = r"arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):(\d{12}):"
_LISTENER = re.compile(_ELB + r"listener/(app/[^/\s]+/[0-9a-f]+/[0-9a-f]+)")
_RULE = re.compile(_ELB + r"listener-rule/(app/[^/\s]+/[0-9a-f]+/[0-9a-f]+)/[0-9a-f]+")
_TARGET_GROUP = re.compile(_ELB + r"targetgroup/([^/\s]+)/[0-9a-f]+")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_SHAPES = {
    "listener": "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID",
    "rule": "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/NAME/ID/ID/ID",
    "target group": "arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID",
}


def _match(pattern: re.Pattern[str], value: str, key: str, what: str, region: str) -> re.Match[str]:
    match = pattern.fullmatch(value)
    if match is None:
        raise ValueError(f"router.{key}: expected an ALB {what} ARN ({_SHAPES[what]}), got {value!r}")
    if match.group(1) != region:
        raise ValueError(f"router.{key}: the ARN is in {match.group(1)}, not in router.region {region}")
    return match


def check_alb(spec: AlbRouterSpec) -> None:
    """Raise ValueError naming the key when a region or an ARN is malformed, a rule is not one of its listener's,
    or the ARNs are in another region than `region`."""
    if not _REGION.fullmatch(spec.region):
        raise ValueError(f"router.region: expected an AWS region such as eu-west-1, got {spec.region!r}")
    pairs = [("listener_arn", spec.listener_arn, "rule_arn", spec.rule_arn)]
    if spec.test_listener_arn is not None:
        pairs.append(("test_listener_arn", spec.test_listener_arn, "test_rule_arn", spec.test_rule_arn))
    for key, listener, rule_key, rule in pairs:
        owner = _match(_LISTENER, listener, key, "listener", spec.region).group(3)
        if rule is not None and _match(_RULE, rule, rule_key, "rule", spec.region).group(3) != owner:
            raise ValueError(f"router.{rule_key}: the rule belongs to another listener than router.{key}")
    for name, arn in spec.target_groups.items():
        _match(_TARGET_GROUP, arn, f"target_groups.{name}", "target group", spec.region)


def target_group_name(arn: str) -> str:
    """The target group's own name, from its ARN (the ARN itself when it is not one)."""
    match = _TARGET_GROUP.fullmatch(arn)
    return arn if match is None else match.group(3)


def _terminal(actions: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    if not actions:
        raise ValueError("the listener has no actions")
    index = max(range(len(actions)), key=lambda i: (int(actions[i].get("Order", 0) or 0), i))
    return index, actions[index]


def forward_weights(actions: list[dict[str, Any]]) -> dict[str, int]:
    """Target group ARN → weight of the terminal action; {} for a fixed-response. Raises ValueError for a terminal
    action greenflag does not steer (a redirect)."""
    _, action = _terminal(actions)
    kind = action.get("Type")
    if kind == "fixed-response":
        return {}
    if kind != "forward":
        raise ValueError(f"its last action is {kind!r}: greenflag steers a forward action (or its own 503)")
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
    if not groups and action.get("TargetGroupArn"):
        return {str(action["TargetGroupArn"]): 1}  # AWS's default weight for a single target group
    return {str(g["TargetGroupArn"]): int(g.get("Weight", 1) if g.get("Weight") is not None else 1) for g in groups}


def with_weights(actions: list[dict[str, Any]], weights: Mapping[str, int]) -> list[dict[str, Any]]:
    """`actions` with the terminal action replaced by a forward naming every target group of `weights` (ARN →
    weight, in that order), or by a fixed-response 503 when every weight is 0. Raises ValueError for weights
    outside 0-999 and for a terminal action greenflag does not steer."""
    for arn, weight in weights.items():
        if not 0 <= weight <= MAX_WEIGHT:
            raise ValueError(f"{target_group_name(arn)}: an ALB weight is 0-{MAX_WEIGHT}, not {weight}")
    forward_weights(actions)  # refuses a redirect
    index, old = _terminal(actions)
    new: dict[str, Any]
    if any(weights.values()):
        config: dict[str, Any] = {"TargetGroups": [{"TargetGroupArn": a, "Weight": w} for a, w in weights.items()]}
        sticky = (old.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig")
        if sticky:
            config["TargetGroupStickinessConfig"] = dict(sticky)
        new = {"Type": "forward", "ForwardConfig": config}
    else:
        response = {"StatusCode": "503", "ContentType": "text/plain", "MessageBody": NO_BACKEND_BODY}
        new = {"Type": "fixed-response", "FixedResponseConfig": response}
    if "Order" in old:
        new["Order"] = old["Order"]
    out = [_writable(a) for a in actions]
    out[index] = new
    return out


def _writable(action: dict[str, Any]) -> dict[str, Any]:
    """An action kept as it was, in the shape Modify* takes: DescribeListeners leaves out an OIDC action's client
    secret, so it is written back with `UseExistingClientSecret`."""
    out = dict(action)
    oidc = out.get("AuthenticateOidcConfig")
    if out.get("Type") == "authenticate-oidc" and isinstance(oidc, dict) and "ClientSecret" not in oidc:
        out["AuthenticateOidcConfig"] = {**oidc, "UseExistingClientSecret": True}
    return out


def same_traffic(a: Mapping[str, int], b: Mapping[str, int]) -> bool:
    """The same split: the same target groups with the same non-zero weights."""
    return {k: v for k, v in a.items() if v} == {k: v for k, v in b.items() if v}
