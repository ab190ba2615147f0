"""The `kubernetes` platform: one Deployment and one ClusterIP Service per version, in `platform.namespace`.

- `launch(v)` creates v's Deployment and Service (`platform/kubernetes_objects.py`) unless they exist, and returns
  v's instance once the Deployment is **ready**: its current generation observed, every replica updated and
  available (Kubernetes ran the pods' own readiness probes). The instance's address is the Service,
  `http://NAME.NAMESPACE.svc:PORT`.
- `instances()` lists greenflag's Deployments of the service (by label) — the cluster is the journal, so a
  restarted controller finds them. A Deployment that was ready is annotated `greenflag/ready: "true"` and stays
  listed while it keeps the `Available` condition (a pod being rescheduled is not a failure); one whose rollout failed
  (`ProgressDeadlineExceeded`, `ReplicaFailure`) is reported by `exits()` with Kubernetes' reason and deleted,
  so a relaunch starts afresh (within `platform.max_restarts`). A Deployment being deleted (`deletionTimestamp`
  set: a foreground deletion, a finalizer) is not an instance, and `launch` creates its successor only once it is gone.
- `stop(v)` deletes v's Deployment (its pods get `terminationGracePeriodSeconds`, set from `stop_grace`) and its
  Service. Idempotent.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from greenflag.platform.base import Instance, InstanceExit
from greenflag.platform.kubernetes_api import KubeApi, KubeError, object_path
from greenflag.platform.kubernetes_objects import (
    MANAGED_BY,
    NAME_LABEL,
    deployment,
    deployment_state,
    object_name,
    selector,
    service,
    service_url,
)
from greenflag.spec import KubernetesPlatformSpec, check_version

__all__ = ["READY_ANNOTATION", "KubernetesPlatform", "make_kubernetes_platform"]

log = logging.getLogger(__name__)
_BACKGROUND = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
READY_ANNOTATION = "greenflag/ready"  # set once the Deployment was ready: from then on, Available is enough


class KubernetesPlatform:
    """Platform (with ExitReporter) over the Kubernetes API (`KubeApi`, or anything with its `request`)."""

    def __init__(self, service: str, spec: KubernetesPlatformSpec, *, api: KubeApi) -> None:
        self.service = service
        self.spec = spec
        self.api = api
        self._exits: list[InstanceExit] = []

    def _path(self, plural: str, name: str | None = None) -> str:
        return object_path(plural, self.spec.namespace, name)

    async def _get(self, plural: str, name: str) -> dict[str, Any] | None:
        try:
            return await self.api.request("GET", self._path(plural, name))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    async def _create(self, plural: str, obj: dict[str, Any]) -> None:
        try:
            await self.api.request("POST", self._path(plural), obj)
        except KubeError as exc:
            if exc.status != 409:  # created meanwhile (by a previous launch): checked by the caller's next look
                raise

    def _version_of(self, obj: dict[str, Any]) -> str | None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        version = labels.get(self.spec.selector_label)
        return version if isinstance(version, str) else None

    @staticmethod
    def _deleting(obj: dict[str, Any]) -> bool:
        return bool((obj.get("metadata") or {}).get("deletionTimestamp"))

    def _instance(self, name: str, version: str) -> Instance:
        return Instance(version=version, id=name, url=service_url(self.spec, name))

    async def launch(self, version: str) -> list[Instance]:
        """Create the version's Deployment and Service unless they exist; its instance once it is ready."""
        check_version(version)
        selector(self.spec, self.service, version)  # ValueError for a version that cannot be a label value
        name = object_name(self.spec, self.service, version)
        current = await self._get("deployments", name)
        if current is not None and self._version_of(current) != version:
            raise ValueError(
                f"Deployment {self.spec.namespace}/{name} exists for version {self._version_of(current)!r}, not "
                f"{version!r} (platform.name gives both the same name; put {{version}} in it)"
            )
        if current is not None and self._deleting(current):
            log.debug("Deployment %s/%s is being deleted: %s is created once it is gone", self.spec.namespace, name,
                      version)  # fmt: skip
            return []
        if current is None:
            await self._create("deployments", deployment(self.spec, self.service, version))
            log.info("created Deployment %s/%s for %s", self.spec.namespace, name, version)
        if await self._get("services", name) is None:
            await self._create("services", service(self.spec, self.service, version))
        return [i for i in await self.instances() if i.version == version]

    async def instances(self) -> list[Instance]:
        """The versions whose Deployment is ready (or, once ready, still available); failed ones are reported and
        deleted."""
        query = f"labelSelector={MANAGED_BY}=greenflag,{NAME_LABEL}={self.service}"
        listed = await self.api.request("GET", f"{self._path('deployments')}?{query}")
        out = []
        for obj in listed.get("items") or []:
            name, version = str((obj.get("metadata") or {}).get("name")), self._version_of(obj)
            if version is None or self._deleting(obj):
                continue
            state = deployment_state(obj)
            was_ready = ((obj.get("metadata") or {}).get("annotations") or {}).get(READY_ANNOTATION) == "true"
            if state.ready and not was_ready:
                patch = {"metadata": {"annotations": {READY_ANNOTATION: "true"}}}
                await self.api.request("PATCH", self._path("deployments", name), patch)
            if state.ready or (was_ready and state.available):
                out.append(self._instance(name, version))
            elif state.failed is not None:
                await self._failed(name, version, state.failed)
        return sorted(out, key=lambda i: i.id)

    async def _failed(self, name: str, version: str, why: str) -> None:
        how = f"did not become available: {why}"
        exit_ = InstanceExit(version, f"Deployment {self.spec.namespace}/{name}", None, "", how)
        log.warning("%s", exit_.describe())
        self._exits.append(exit_)
        await self._delete("deployments", name)

    def exits(self) -> list[InstanceExit]:
        """Deployments that failed since the last call (each once), with Kubernetes' reason."""
        exits, self._exits = self._exits, []
        return exits

    async def _delete(self, plural: str, name: str) -> None:
        try:
            await self.api.request("DELETE", self._path(plural, name), _BACKGROUND)
        except KubeError as exc:
            if exc.status != 404:
                raise

    async def stop(self, version: str, *, grace_s: float) -> None:
        """Delete the version's Deployment and Service (gone already: nothing to do)."""
        name = object_name(self.spec, self.service, version)
        current = await self._get("deployments", name)
        if current is not None and self._version_of(current) != version:
            return  # another version's: never touched
        if current is not None:
            await self._delete("deployments", name)
        if await self._get("services", name) is not None:
            await self._delete("services", name)

    def readiness_source(self) -> str:
        """ReadinessSource: a version is listed only while its Deployment is ready (then: available)."""
        return "the Deployment's status"

    async def aclose(self) -> None:
        self.api.close()


def make_kubernetes_platform(
    service_name: str, spec: KubernetesPlatformSpec, journal: Any = None, *, log_dir: Path | None = None,
    base_dir: Path | None = None, api: KubeApi | None = None,
) -> KubernetesPlatform:  # fmt: skip
    """The platform for `platform.kind: kubernetes` (the cluster keeps its state: no journal is needed)."""
    if api is None:
        kubeconfig = spec.kubeconfig
        if kubeconfig is not None and base_dir is not None and not Path(kubeconfig).expanduser().is_absolute():
            kubeconfig = str(Path(base_dir) / kubeconfig)
        kubeconfig = None if kubeconfig is None else str(Path(kubeconfig).expanduser())
        api = KubeApi(kubeconfig=kubeconfig, context=spec.context, timeout=spec.timeout)
    return KubernetesPlatform(service_name, spec, api=api)
