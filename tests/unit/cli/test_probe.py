"""`greenflag probe` helpers that need no sockets."""

from __future__ import annotations

import pytest

from greenflag.cli.probe import parse_statuses
from greenflag.errors import UsageError


def test_parse_statuses() -> None:
    assert parse_statuses(["200"]) == [200]
    assert parse_statuses(["200-202,204", "301"]) == [200, 201, 202, 204, 301]
    for bad in ("x", "300-200", "99", "200-700"):
        with pytest.raises(UsageError, match="--expect-status"):
            parse_statuses([bad])
