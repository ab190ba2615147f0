"""The vocabulary every section of the release spec shares: the strict base model and durations."""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from greenflag.units import parse_duration, parse_size

__all__ = ["VERSION_PATTERN", "Duration", "Model", "Size", "check_version", "differences", "split_command"]


Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]  # bytes: 1024, '64k', '100m'


def split_command(value: Any) -> Any:
    """A command given as a string → its arguments, split as a POSIX shell would (quotes, backslashes; no shell
    runs); a list is kept as written. ValueError (one line) for unbalanced quotes or an empty command."""
    if isinstance(value, str):
        try:
            value = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"{value!r}: {str(exc).lower()} (quote arguments as a shell would)") from None
    if isinstance(value, list | tuple) and not value:
        raise ValueError("the command is empty")
    return value


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


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """The key paths where two JSON-like values differ (`strategy.canary.steps[1].set_weight`), sorted."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted({*a, *b}, key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                out.append(sub)
            else:
                out += differences(a[key], b[key], sub)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [path or "(the whole spec)"]
