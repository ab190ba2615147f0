"""`greenflag analysis run` helpers that need no sockets."""

from __future__ import annotations

import pytest

from greenflag.cli.analysis import _pick_backends
from greenflag.errors import UsageError


@pytest.mark.parametrize(
    ("weights", "canary", "stable", "expected"),
    [
        ({"blue": 90, "green": 10}, None, None, ("green", "blue")),
        ({"blue": 90, "green": 10, "red": 0}, None, None, ("green", "blue")),
        ({"blue": 50, "green": 50}, None, None, ("blue", "green")),  # ties: by name
        ({"blue": 100, "green": 0}, "green", None, ("green", "blue")),
        (None, "green", "blue", ("green", "blue")),
        (None, "green", "none", ("green", None)),
        ({"blue": 90, "green": 10}, "green", "NONE", ("green", None)),
    ],
)
def test_pick_backends(
    weights: dict[str, int] | None, canary: str | None, stable: str | None, expected: tuple[str, str | None]
) -> None:
    assert _pick_backends(weights, canary, stable) == expected


def test_pick_backends_needs_a_split_or_a_name() -> None:
    with pytest.raises(UsageError, match="--canary"):
        _pick_backends({"blue": 100, "green": 0}, None, None)
