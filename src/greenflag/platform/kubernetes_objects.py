"""The kubernetes platform's objects as data (pure): a version's Deployment and Service, and what a Deployment's
status says (available, still progressing, or failed).

Every object greenflag makes for a version carries the labels `app.kubernetes.io/name: SERVICE`,
`app.kubernetes.io/managed-by: greenflag` and `SELECTOR_LABEL: VERSION` (default `version`, the key a Service
selector router switches), plus the spec's `labels`. The Deployment's selector and the Service's selector are the
name and version labels, so the per-version Service reaches exactly that version's pods.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from greenflag.spec.platform_kube import KubernetesPlatformSpec, label_problem

__all__ = [
    "MANAGED_BY",
    "NAME_LABEL",
    "DeploymentState",
    "deployment",
    "deployment_state",
    "object_name",
    "selector",
    "service",
    "service_url",
]
__pure__ = True

NAME_LABEL = "app.kubernetes.io/name"
MANAGED_BY = "app.kubernetes.io/managed-by"
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
_PLACEHOLDER = re.compile(r"(?<!\$)\{(version|service|name)\}")


def object_name(spec: KubernetesPlatformSpec, service: str, version: str) -> str:
    """The Deployment's and Service's name: `spec.name` with the values, lowercased, other characters as '-'.
    ValueError when that is not a Kubernetes Service name (a letter first, at most 63)."""
    raw = _PLACEHOLDER.sub(lambda m: {"version": version, "service": service}.get(m.group(1), ""), spec.name)
    name = re.sub(r"[^a-z0-9-]", "-", raw.lower())
    if not _DNS_1035.fullmatch(name):
        raise ValueError(
            f"platform.name: {raw!r} gives {name!r}, not a Kubernetes Service name (a lowercase letter first, then "
            "letters, digits or '-', at most 63)"
        )
    return name


def selector(spec: KubernetesPlatformSpec, service: str, version: str) -> dict[str, str]:
    """The labels that pick this version's pods. ValueError when the version cannot be a label value."""
    problem = label_problem(spec.selector_label, version) or label_problem(NAME_LABEL, service)
    if problem is not None:
        raise ValueError(f"platform.kubernetes: {problem}")
    return {NAME_LABEL: service, spec.selector_label: version}


def _labels(spec: KubernetesPlatformSpec, service: str, version: str) -> dict[str, str]:
    return {**spec.labels, MANAGED_BY: "greenflag", **selector(spec, service, version)}


def _fill(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], value)
    if isinstance(value, dict):
        return {_fill(k, values): _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def deployment(spec: KubernetesPlatformSpec, service: str, version: str) -> dict[str, Any]:
    """The version's Deployment: from `template` (placeholders filled) or from `image` and `port`."""
    name = object_name(spec, service, version)
    labels = _labels(spec, service, version)
    values = {"version": version, "service": service, "name": name}
    if spec.template is not None:
        obj: dict[str, Any] = _fill(copy.deepcopy(spec.template), values)
    else:
        assert spec.image is not None
        container = {"name": "app", "image": _fill(spec.image, values), "ports": [{"containerPort": spec.port}]}
        pod_template = {"spec": {"containers": [container]}}
        obj = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": pod_template}}
    meta = obj.setdefault("metadata", {})
    meta.update(name=name, namespace=spec.namespace, labels={**(meta.get("labels") or {}), **labels})
    body = obj.setdefault("spec", {})
    body["replicas"] = spec.replicas
    body["selector"] = {"matchLabels": selector(spec, service, version)}
    pod = body.setdefault("template", {})
    pod_meta = pod.setdefault("metadata", {})
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), **labels}
    pod_spec = pod.setdefault("spec", {})
    pod_spec.setdefault("terminationGracePeriodSeconds", math.ceil(spec.stop_grace))
    if spec.env:
        for container in pod_spec.get("containers") or []:
            env = [e for e in container.get("env") or [] if e.get("name") not in spec.env]
            container["env"] = env + [{"name": k, "value": v} for k, v in spec.env.items()]
    return obj


def service(spec: KubernetesPlatformSpec, service_name: str, version: str) -> dict[str, Any]:
    """The version's ClusterIP Service: `service_port` to the container port of exactly this version's pods."""
    port = spec.container_port()
    assert port is not None
    name = object_name(spec, service_name, version)
    meta = {"name": name, "namespace": spec.namespace, "labels": _labels(spec, service_name, version)}
    ports = [{"name": "http", "port": spec.service_port, "targetPort": port}]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"selector": selector(spec, service_name, version), "ports": ports},
    }


def service_url(spec: KubernetesPlatformSpec, name: str) -> str:
    """The instance address: the per-version Service, as it resolves inside the cluster."""
    return f"http://{name}.{spec.namespace}.svc:{spec.service_port}"


@dataclass(frozen=True)
class DeploymentState:
    ready: bool  # every replica updated and available, for the current generation
    available: bool  # the Available condition (minimum availability: what a version that was ready must keep)
    failed: str | None  # why it will not become ready (ProgressDeadlineExceeded, ReplicaFailure), or None
    detail: str  # "2/3 available", for humans


def deployment_state(obj: Mapping[str, Any]) -> DeploymentState:
    meta, body, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    want = int(body.get("replicas", 1))
    current = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)
    updated, available = int(status.get("updatedReplicas") or 0), int(status.get("availableReplicas") or 0)
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, dict)}
    failed = None
    progressing, replica_failure = conditions.get("Progressing"), conditions.get("ReplicaFailure")
    if progressing is not None and progressing.get("status") == "False":
        failed = f"{progressing.get('reason')}: {progressing.get('message', '')}".rstrip(": ")
    elif replica_failure is not None and replica_failure.get("status") == "True":
        failed = f"{replica_failure.get('reason')}: {replica_failure.get('message', '')}".rstrip(": ")
    ready = current and updated >= want and available >= want
    is_available = current and (conditions.get("Available") or {}).get("status") == "True"
    return DeploymentState(ready, is_available, failed, f"{available}/{want} available")
