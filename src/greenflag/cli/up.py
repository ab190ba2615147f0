"""`greenflag up` (not yet implemented)."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """No commands yet."""
