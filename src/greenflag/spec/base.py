"""The vocabulary every section of the release spec shares: the strict base model and durations."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

from greenflag.units import parse_duration, parse_size

__all__ = ["VERSION_PATTERN", "Duration", "Model", "Size", "check_version"]


Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]  # bytes: 1024, '64k', '100m'


class Model(BaseModel):
    """A spec section: unknown keys are errors, values are frozen once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# A version name (`rollout start --version`, the platform's {version}): safe as a file name, a URL path segment, a
# router backend name and a shell word, so no value can add arguments or code wherever it is substituted.
VERSION_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_VERSION = re.compile(VERSION_PATTERN)


def check_version(version: str) -> str:
    """`version` if it is a version name, else ValueError saying what a version name is (one line)."""
    if not isinstance(version, str) or _VERSION.fullmatch(version) is None:
        raise ValueError(
            f"{version!r} is not a version name: expected a letter or digit, then up to 63 letters, digits, "
            f"'.', '_' or '-' ({VERSION_PATTERN})"
        )
    return version
