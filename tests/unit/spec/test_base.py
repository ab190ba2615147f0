"""Version names: what `rollout start --version` accepts, so no value can add arguments or code where it goes."""

from __future__ import annotations

import pytest

from greenflag.spec import check_version

GOOD = ["v1", "2", "v2.3.1", "release_2026-01-01", "A" * 64, "1.0.0-rc.1", "sha-3f2a9c1"]
BAD = [
    "", " v1", "v1 ", "v4 --error-rate 1", "$(touch pwned)", "`id`", "v1;rm -rf /", "v1|cat", "v1&&x", "v1>out",
    "a'b", 'a"b', "v1\nv2", "v1\x00", "-v1", ".hidden", "_v1", "../etc", "v1/x", "A" * 65, "vé", "{port}", "v$HOME",
]  # fmt: skip


@pytest.mark.parametrize("version", GOOD)
def test_version_names_are_accepted(version: str) -> None:
    assert check_version(version) == version


@pytest.mark.parametrize("version", BAD)
def test_anything_else_is_refused_in_one_line(version: str) -> None:
    with pytest.raises(ValueError) as info:
        check_version(version)
    message = str(info.value)
    assert "\n" not in message and "[A-Za-z0-9][A-Za-z0-9._-]{0,63}" in message
    assert repr(version) in message
