"""All the runbooks of one spec, assembled: `runbooks(spec, path) → {file name: Markdown}` (pure)."""

from __future__ import annotations

from greenflag.ops.limits import Limits
from greenflag.ops.runbook import Context, deployment, readme, rollback
from greenflag.ops.runbook_incidents import dr_restore, incident_response
from greenflag.spec import Spec

__all__ = ["runbooks"]

__pure__ = True


def runbooks(spec: Spec, path: str, limits: Limits | None = None) -> dict[str, str]:
    """File name → Markdown for every runbook."""
    ctx = Context(spec, path, limits)
    return {
        "README.md": readme(ctx),
        "deployment.md": deployment(ctx),
        "rollback.md": rollback(ctx),
        "incident-response.md": incident_response(ctx),
        "dr-restore.md": dr_restore(ctx),
    }
