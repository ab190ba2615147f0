"""The Kubernetes API calls greenflag makes, through the official `kubernetes` client (the `[k8s]` extra, imported
when first used) — for its configuration loading: kubeconfig files with contexts, client certificates, tokens,
OIDC and exec credential plugins (EKS's `aws eks get-token`, GKE's auth plugin), and a pod's service account.

Calls are plain REST on object paths (`KubeApi.request`), run in a worker thread (the client is synchronous),
answered as JSON dicts: the same few verbs serve the kubernetes platform's Deployments and Services and the
kubernetes router's HTTPRoutes and Services. It lives in `platform/`, the lower of the two layers that use it
(`traffic/kubernetes_api.py` re-exports it). A 409
(resourceVersion conflict) is a `KubeConflict`, for the caller to read again and retry; any other failure is a
`KubeError` with the API server's own message.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["MERGE_PATCH", "KubeApi", "KubeConflict", "KubeError", "object_path"]

MERGE_PATCH = "application/merge-patch+json"  # RFC 7386: works on every kind, custom resources included
_GROUPS = {"services": "/api/v1", "httproutes": "/apis/gateway.networking.k8s.io/v1", "deployments": "/apis/apps/v1"}


class KubeError(ConnectionError):
    """The API server could not be reached, refused a call, or did not hold what was written."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class KubeConflict(KubeError):
    """409: the object changed since it was read (its resourceVersion); read it again and retry."""


def object_path(plural: str, namespace: str, name: str | None = None) -> str:
    """The REST path of a namespaced object (or of its collection, without `name`)."""
    base = f"{_GROUPS[plural]}/namespaces/{namespace}/{plural}"
    return base if name is None else f"{base}/{name}"


class KubeApi:
    def __init__(self, *, kubeconfig: str | None = None, context: str | None = None, timeout: float = 10.0) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.timeout = timeout
        self._client: Any = None

    def _make_client(self) -> Any:
        try:
            from kubernetes import client, config
        except ImportError:
            raise KubeError("Kubernetes needs its client: pip install 'greenflag[k8s]'") from None
        path = self.kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None
        default = Path("~/.kube/config").expanduser()
        try:
            if path is None and not default.exists() and os.environ.get("KUBERNETES_SERVICE_HOST"):
                configuration = client.Configuration()
                config.load_incluster_config(client_configuration=configuration)
                return client.ApiClient(configuration)
            return config.new_client_from_config(config_file=path, context=self.context, persist_config=False)
        except Exception as exc:  # ConfigException, a missing file, a broken YAML
            where = path or str(default)
            raise KubeError(f"cannot load the Kubernetes configuration ({where}): {exc}") from None

    def _request_sync(self, method: str, path: str, body: Any, content_type: str | None) -> dict[str, Any]:
        if self._client is None:
            self._client = self._make_client()
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        try:
            answer = self._client.call_api(
                path, method, header_params=headers, body=body, auth_settings=["BearerToken"],
                _preload_content=False, _request_timeout=(self.timeout, self.timeout),
            )  # fmt: skip
        except Exception as exc:
            raise _error(method, path, exc) from None
        response = answer[0] if isinstance(answer, tuple) else answer
        data = getattr(response, "data", b"") or b"{}"
        parsed: dict[str, Any] = json.loads(data)
        return parsed

    async def request(
        self, method: str, path: str, body: Any = None, *, content_type: str | None = None
    ) -> dict[str, Any]:
        """One call: GET, POST, PUT, PATCH (default content type: JSON merge patch) or DELETE."""
        if method == "PATCH" and content_type is None:
            content_type = MERGE_PATCH
        return await asyncio.to_thread(self._request_sync, method, path, body, content_type)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and hasattr(client, "close"):
            client.close()


def _error(method: str, path: str, exc: Exception) -> KubeError:
    status = getattr(exc, "status", None)
    body = getattr(exc, "body", None)
    message = ""
    if body:
        try:
            message = str(json.loads(body).get("message", ""))
        except (ValueError, AttributeError):
            message = str(body)[:300]
    if not isinstance(status, int) or status == 0:
        return KubeError(f"Kubernetes API {method} {path}: cannot reach the API server: {type(exc).__name__}: {exc}")
    text = f"Kubernetes API {method} {path}: {status} {getattr(exc, 'reason', '')}: {message}".rstrip(": ")
    return (KubeConflict if status == 409 else KubeError)(text, status)
