"""`platform: {kind: kubernetes}` — one Deployment (and a ClusterIP Service) per version, in one namespace.

The Deployment is built from `image` + `port` (+ `labels`), or from `template`, a Deployment manifest of your own
whose strings may name `{version}`, `{service}` and `{name}`. Either way greenflag sets its name, namespace, labels
and selector (`greenflag.platform.kubernetes_objects`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from greenflag.spec.base import Duration
from greenflag.spec.platform_base import PlatformBase, check_placeholders, key_error

__all__ = ["KUBE_PLACEHOLDERS", "KubernetesPlatformSpec", "label_problem"]

KUBE_PLACEHOLDERS = ("version", "service", "name")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


def label_problem(key: str, value: str) -> str | None:
    """Why `key: value` is not a Kubernetes label, or None."""
    if not _LABEL_KEY.fullmatch(key):
        return f"{key!r} is not a label key (such as app or app.kubernetes.io/name)"
    if not _LABEL_VALUE.fullmatch(value):
        return f"{key}: {value!r} is not a label value (letters, digits, '-', '_', '.'; at most 63)"
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _containers(template: dict[str, Any]) -> list[Any]:
    pod = ((template.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = pod.get("containers") if isinstance(pod, dict) else None
    return containers if isinstance(containers, list) else []


class KubernetesPlatformSpec(PlatformBase):
    """`kind: kubernetes`: each version is a Deployment `name` with a Service of the same name."""

    kind: Literal["kubernetes"]
    namespace: str
    name: str = "{service}-{version}"  # of the Deployment and the Service; lowercased, other characters become '-'
    image: str | None = None  # e.g. registry.example.com/shop/web:{version}
    port: int | None = Field(None, ge=1, le=65535)  # the container port (default with template: its first one)
    replicas: int = Field(1, ge=1, le=1000)
    labels: dict[str, str] = Field(default_factory=dict)  # added to the Deployment, its pods and the Service selector
    template: dict[str, Any] | None = None  # a Deployment manifest (apps/v1) instead of image and port
    service_port: int = Field(80, ge=1, le=65535)  # the per-version Service's port (the instance address)
    selector_label: str = "version"  # the pod label that carries the version (a Service-selector router's key)
    kubeconfig: str | None = None  # default: $KUBECONFIG or ~/.kube/config; in a pod: its service account
    context: str | None = None
    timeout: Duration = 10.0  # one API call
    start_timeout: Duration = 600.0  # until the Deployment is available and the readiness gate passes

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _DNS_LABEL.fullmatch(value):
            raise ValueError("expected a Kubernetes namespace (lowercase letters, digits, '-', at most 63)")
        return value

    @field_validator("name", "image")
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        if value is not None:
            check_placeholders([value], KUBE_PLACEHOLDERS)
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, label in value.items():
            problem = label_problem(key, label)
            if problem is not None:
                raise ValueError(problem)
        return value

    @field_validator("selector_label")
    @classmethod
    def _selector_label(cls, value: str) -> str:
        if not _LABEL_KEY.fullmatch(value):
            raise ValueError("expected a label key such as version or app.kubernetes.io/version")
        return value

    @field_validator("template")
    @classmethod
    def _template(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        if value.get("apiVersion") != "apps/v1" or value.get("kind") != "Deployment":
            raise ValueError("expected a Deployment manifest: apiVersion: apps/v1, kind: Deployment")
        containers = _containers(value)
        if not containers or not all(isinstance(c, dict) and c.get("name") and c.get("image") for c in containers):
            raise ValueError("spec.template.spec.containers: expected at least one container with a name and an image")
        check_placeholders(_strings(value), KUBE_PLACEHOLDERS)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> KubernetesPlatformSpec:
        name = type(self).__name__
        if (self.image is None) == (self.template is None):
            key = "image" if self.image is not None else "template"
            raise key_error(name, key, "give exactly one of image (with port) or template (a Deployment manifest)")
        if self.container_port() is None:
            raise key_error(name, "port", "required: the port the container listens on")
        if self.instances != 1:
            message = "a version is one Deployment: set replicas for more pods"
            raise key_error(name, "instances", message, self.instances)
        return self

    def container_port(self) -> int | None:
        """`port`, or the first containerPort of the template's first container."""
        if self.port is not None or self.template is None:
            return self.port
        for port in _containers(self.template)[0].get("ports") or []:
            if isinstance(port, dict) and isinstance(port.get("containerPort"), int):
                return int(port["containerPort"])
        return None

    def summary(self) -> str:
        what = self.image if self.image is not None else "template"
        return f"kubernetes {self.namespace}: Deployment {self.name} ({what}) × {self.replicas} replicas"
