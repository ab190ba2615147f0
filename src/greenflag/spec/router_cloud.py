"""`router:` kinds in a cloud: `alb` (an AWS Application Load Balancer's weighted target groups) and `kubernetes`
(a Gateway API HTTPRoute's weights, or a Service's selector)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from greenflag.spec.base import Duration
from greenflag.spec.router_base import HTTP_URL, SLOT, RouterBase, check_servers, weights_named

__all__ = ["AlbRouterSpec", "KubernetesRouterSpec"]

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # Kubernetes namespaces, label values' shape
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")  # Kubernetes object names
_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


class AlbRouterSpec(RouterBase):
    """`kind: alb`: an Application Load Balancer's weighted forward between target groups (one per slot, e.g. blue
    and green), on a listener's default action or on one of its rules; optionally a test listener (CodeDeploy's
    test traffic route) that sends test traffic to the version under test."""

    kind: Literal["alb"]
    # The region and the ARNs are checked by the driver (greenflag.traffic.alb_actions.check_alb) and by
    # `ops cloudwatch-alarms`, each with one line naming the key.
    region: str
    listener_arn: str
    rule_arn: str | None = None  # steer this rule of the listener instead of its default action
    test_listener_arn: str | None = None
    test_rule_arn: str | None = None  # a rule of the test listener instead of its default action
    target_groups: dict[str, str]
    url: str | None = None  # where clients reach the load balancer (https://shop.example.com), for hooks
    test_url: str | None = None  # where the test listener answers (https://shop.example.com:8443), for hooks
    endpoint_url: str | None = None  # another ELB API endpoint (a VPC endpoint; moto in tests); else boto3's own
    timeout: Duration = 10.0  # one API call (connect and read)

    @field_validator("target_groups")
    @classmethod
    def _slots(cls, value: dict[str, str]) -> dict[str, str]:
        return check_servers(value, "target group")

    @field_validator("url", "test_url", "endpoint_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not HTTP_URL.fullmatch(value):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AlbRouterSpec:
        if self.test_rule_arn is not None and self.test_listener_arn is None:
            raise ValueError("test_rule_arn needs test_listener_arn (the listener the rule belongs to)")
        if self.test_listener_arn is not None and self.test_listener_arn == self.listener_arn:
            raise ValueError("test_listener_arn must be another listener than listener_arn")
        weights_named(self, self.target_groups, "target_groups")
        return self

    def public_url(self) -> str | None:
        return self.url

    def test_traffic_url(self) -> str | None:
        return self.test_url or self.url


class KubernetesRouterSpec(RouterBase):
    """`kind: kubernetes`: a Gateway API HTTPRoute's backendRef weights (canary), or a Service's selector (blue-green:
    the Service selects the pods whose `selector_label` has the backend's value)."""

    kind: Literal["kubernetes"]
    namespace: str
    httproute: str | None = None
    service: str | None = None
    # httproute: greenflag backend name → the Service a backendRef names (default: every Service the route's rules
    # name, under its own name). service: backend name → the label value pods of that backend carry (default: the
    # name itself).
    backends: dict[str, str] = Field(default_factory=dict)
    selector_label: str = "version"  # service: the selector key that is switched
    kubeconfig: str | None = None  # default: $KUBECONFIG or ~/.kube/config; in a pod: its service account
    context: str | None = None  # a kubeconfig context other than the current one
    url: str | None = None  # where clients reach the service (for hooks)
    timeout: Duration = 10.0  # one write: until the gateways have accepted it (httproute) and it reads back

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
            raise ValueError("expected a Kubernetes namespace (lowercase letters, digits, '-', at most 63)")
        return value

    @field_validator("httproute", "service")
    @classmethod
    def _object_name(cls, value: str | None) -> str | None:
        if value is not None and not _DNS_SUBDOMAIN.fullmatch(value):
            raise ValueError("expected a Kubernetes object name (lowercase letters, digits, '-', '.')")
        return value

    @field_validator("selector_label")
    @classmethod
    def _label_key(cls, value: str) -> str:
        if not _LABEL_KEY.fullmatch(value):
            raise ValueError("expected a label key such as version or app.kubernetes.io/version")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not HTTP_URL.fullmatch(value):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("backends")
    @classmethod
    def _backend_values(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        by_route = info.data.get("httproute") is not None
        pattern, what = (_DNS_LABEL, "a Service name") if by_route else (_LABEL_VALUE, "a label value")
        for name, target in value.items():
            if not re.fullmatch(SLOT, name):
                raise ValueError(f"{name!r}: backend names are letters, digits, '.', '_' or '-' (at most 64)")
            if not target or len(target) > 63 or not pattern.fullmatch(target):
                raise ValueError(f"{name}: {target!r} is not {what}")
        if len(set(value.values())) != len(value):
            raise ValueError(f"two backends name the same {'Service' if by_route else 'label value'}")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> KubernetesRouterSpec:
        if (self.httproute is None) == (self.service is None):
            raise ValueError("give exactly one of httproute (weights) or service (selector switch)")
        return self

    def public_url(self) -> str | None:
        return self.url
