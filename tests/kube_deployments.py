"""Deployments for the FAKE Kubernetes API server (tests/kube_api.py) — a fake, because no cluster can run here: the
shape of `apps/v1` Deployments as the real schema has it, checked on every write (422 naming the field), and an
emulated Deployment controller that writes `status` the way the real one reports a rollout, `delay` seconds after
each write:

- an image whose tag starts with `bad` never becomes available: `Progressing` False with `ProgressDeadlineExceeded`
  and the real controller's message (`ReplicaSet "NAME-…" has timed out progressing.`);
- any other image is rolled out: `observedGeneration` = `generation`, every replica updated, ready and available,
  `Available` True and `Progressing` True (`NewReplicaSetAvailable`);
- `FakeKubeApi.deployments = "off"` reports nothing (no controller), `"partial"` makes one replica fewer available
  (the `Available` condition stays True, as with `maxUnavailable`).

What the fake cannot prove: that pods start, pass their probes, or are scheduled anywhere.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tests.kube_api import _common, _fields, _int, _labels

if TYPE_CHECKING:
    from tests.kube_api import FakeKubeApi

__all__ = ["check_deployment", "deployment_controller"]

_DNS_1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_SPEC = {"replicas", "selector", "template", "strategy", "minReadySeconds", "revisionHistoryLimit",
         "progressDeadlineSeconds", "paused"}  # fmt: skip
_POD = {"containers", "initContainers", "volumes", "terminationGracePeriodSeconds", "serviceAccountName",
        "nodeSelector", "affinity", "tolerations", "securityContext", "imagePullSecrets", "restartPolicy",
        "dnsPolicy", "priorityClassName", "topologySpreadConstraints", "enableServiceLinks",
        "automountServiceAccountToken"}  # fmt: skip
_CONTAINER = {"name", "image", "ports", "env", "envFrom", "args", "command", "resources", "readinessProbe",
              "livenessProbe", "startupProbe", "volumeMounts", "imagePullPolicy", "securityContext", "lifecycle",
              "workingDir"}  # fmt: skip


def _container(container: Any, where: str) -> list[str]:
    problems = _fields(container, where, _CONTAINER, ("name", "image"))
    if not isinstance(container, dict):
        return problems
    if not isinstance(container.get("name"), str) or not _DNS_1123_LABEL.fullmatch(container["name"]):
        problems.append(f"{where}.name: {container.get('name')!r} is not a DNS-1123 label")
    if not isinstance(container.get("image"), str) or not container.get("image"):
        problems.append(f"{where}.image: expected a string")
    for i, port in enumerate(container.get("ports") or []):
        problems += _fields(port, f"{where}.ports[{i}]", {"containerPort", "name", "protocol", "hostPort"},
                            ("containerPort",))  # fmt: skip
        if isinstance(port, dict):
            problems += _int(port.get("containerPort"), f"{where}.ports[{i}].containerPort", 1, 65535)
    for i, env in enumerate(container.get("env") or []):
        problems += _fields(env, f"{where}.env[{i}]", {"name", "value", "valueFrom"}, ("name",))
        if isinstance(env, dict) and "value" in env and not isinstance(env["value"], str):
            problems.append(f"{where}.env[{i}].value: expected a string, got {env['value']!r}")
    return problems


def check_deployment(obj: dict[str, Any]) -> list[str]:
    """apps/v1 Deployment: the fields of its schema a platform's Deployments use, and the API server's own rule
    that the selector matches the pod template's labels."""
    problems = _common(obj, "apps/v1", "Deployment", _SPEC)
    name = (obj.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not _DNS_SUBDOMAIN.fullmatch(name):
        problems.append(f"metadata.name: {name!r} is not a DNS-1123 subdomain")
    spec = obj.get("spec") or {}
    if not isinstance(spec, dict):
        return problems
    if "replicas" in spec:
        problems += _int(spec["replicas"], "spec.replicas", 0, 1_000_000)
    problems += _fields(spec.get("selector"), "spec.selector", {"matchLabels", "matchExpressions"})
    wanted = (spec.get("selector") or {}).get("matchLabels") if isinstance(spec.get("selector"), dict) else None
    if "selector" not in spec:
        problems.append("spec.selector: required")
    elif isinstance(wanted, dict):
        problems += _labels(wanted, "spec.selector.matchLabels")
    template = spec.get("template")
    problems += _fields(template, "spec.template", {"metadata", "spec"}, ("metadata", "spec"))
    if not isinstance(template, dict):
        return problems
    labels = (template.get("metadata") or {}).get("labels") or {}
    problems += _labels(labels, "spec.template.metadata.labels")
    if isinstance(wanted, dict) and any(labels.get(k) != v for k, v in wanted.items()):
        problems.append("spec.template.metadata.labels: `selector` does not match template `labels`")
    pod = template.get("spec")
    problems += _fields(pod, "spec.template.spec", _POD, ("containers",))
    if isinstance(pod, dict):
        if "terminationGracePeriodSeconds" in pod:
            problems += _int(pod["terminationGracePeriodSeconds"], "spec.template.spec.terminationGracePeriodSeconds",
                             0, 10**9)  # fmt: skip
        containers = pod.get("containers")
        if not isinstance(containers, list) or not containers:
            problems.append("spec.template.spec.containers: expected at least one container")
        else:
            for i, container in enumerate(containers):
                problems += _container(container, f"spec.template.spec.containers[{i}]")
    return problems


def _rollout(server: FakeKubeApi, namespace: str, name: str) -> None:
    with server._lock:
        obj = server.objects.get(("deployments", namespace, name))
        if obj is None or server.deployments == "off":
            return
        replicas = int(obj["spec"].get("replicas", 1))
        generation = obj["metadata"]["generation"]
        image = str(obj["spec"]["template"]["spec"]["containers"][0]["image"])
        if image.rpartition(":")[2].startswith("bad"):
            status: dict[str, Any] = {
                "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
                "unavailableReplicas": replicas,
                "conditions": [
                    {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                     "message": "Deployment does not have minimum availability."},
                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                     "message": f'ReplicaSet "{name}-5d8f7c9b4" has timed out progressing.'},
                ],
            }  # fmt: skip
        else:
            available = replicas - 1 if server.deployments == "partial" and replicas > 1 else replicas
            status = {
                "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
                "readyReplicas": available, "availableReplicas": available,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability."},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                     "message": f'ReplicaSet "{name}-5d8f7c9b4" has successfully progressed.'},
                ],
            }  # fmt: skip
        server._store("deployments", namespace, obj, {**obj, "status": status}, status_only=True)


def deployment_controller(server: FakeKubeApi, obj: dict[str, Any]) -> None:
    """After each write of a Deployment: its status, `deployment_delay` seconds later."""
    namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
    server.call_later(server.deployment_delay, lambda: _rollout(server, namespace, name))
