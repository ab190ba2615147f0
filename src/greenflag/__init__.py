"""greenflag: load-test a web service, release it blue-green or canary, and roll back by itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["User", "__version__", "between", "constant", "pacing", "task"]

if TYPE_CHECKING:
    from greenflag.load.scenarios.user import User, between, constant, pacing, task


def __getattr__(name: str) -> Any:
    # The scenario API is imported lazily so `import greenflag` stays cheap and side-effect free.
    if name in {"User", "task", "between", "constant", "pacing"}:
        from greenflag.load.scenarios import user

        return getattr(user, name)
    raise AttributeError(name)
