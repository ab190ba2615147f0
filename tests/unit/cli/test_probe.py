"""`greenflag probe` helpers that need no sockets."""

from __future__ import annotations

import pytest

from greenflag.cli.common import parse_status_codes
from greenflag.errors import UsageError


def test_parse_status_codes() -> None:
    assert parse_status_codes("--expect-status", ["200"]) == {200}
    assert sorted(parse_status_codes("--expect-status", ["200-202,204", "301"])) == [200, 201, 202, 204, 301]
    for bad in ("x", "300-200", "99", "200-700"):
        with pytest.raises(UsageError, match="--expect-status"):
            parse_status_codes("--expect-status", [bad])
