"""The Kubernetes API client the kubernetes router uses: the one in `platform/kubernetes_api.py` (the kubernetes
platform's Deployments and the router's HTTPRoutes share it; it lives in the lower of the two layers)."""

from __future__ import annotations

from greenflag.platform.kubernetes_api import MERGE_PATCH, KubeApi, KubeConflict, KubeError, object_path

__all__ = ["MERGE_PATCH", "KubeApi", "KubeConflict", "KubeError", "object_path"]
