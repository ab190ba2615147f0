"""What the `command` platform reads from your commands' output (pure): the contracts of `launch` and `status`.

- **launch** prints the new instance's address as the **last non-empty line of its standard output**, either a
  URL (`http://10.0.3.7:8080`) or a JSON object `{"url": "http://10.0.3.7:8080", "id": "task-4f2a"}`; `id` is
  optional (default: greenflag's instance id, `VERSION-INDEX`) and is what `stop` gets as `{instance}`. Anything
  printed before that line is free (progress, logs).
- **status** prints one JSON document on its standard output: a list of instances, or `{"instances": [...]}`, each
  `{"id": "...", "version": "v2", "url": "http://..."}` (other keys are ignored). An entry whose version is not a
  version name is not greenflag's and is ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from greenflag.spec.base import VERSION_PATTERN

__all__ = ["Launched", "Listed", "check_id", "parse_launch", "parse_status"]
__pure__ = True

_URL = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?(/[^\s]*)?")
_VERSION = re.compile(VERSION_PATTERN)
MAX_ID = 256


@dataclass(frozen=True)
class Launched:
    url: str
    id: str | None = None  # None: greenflag names it VERSION-INDEX


@dataclass(frozen=True)
class Listed:
    id: str
    version: str
    url: str


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _URL.fullmatch(value):
        raise ValueError(f"{where}: {value!r} is not an address: expected http://HOST:PORT (or https://…)")
    return value.rstrip("/")


def check_id(value: Any, where: str) -> str:
    """An instance id: any text on one line, 1-256 characters (an ECS task ARN, a Nomad allocation, a VM name).
    It reaches commands only as one argument or through the environment, never as shell code."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{where}: {value!r} is not an instance id: expected text on one line, 1-{MAX_ID} characters")
    return value


def parse_launch(stdout: str) -> Launched:
    """The address (and id) a launch command printed. ValueError saying what was expected and what came."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError("printed nothing: its last line must be the instance's address (http://HOST:PORT or JSON)")
    last = lines[-1]
    if not last.startswith("{"):
        return Launched(_url(last, "its last line"))
    try:
        data = json.loads(last)
    except ValueError as exc:
        raise ValueError(f"its last line is not valid JSON ({exc}): {last[:200]!r}") from None
    if not isinstance(data, dict) or "url" not in data:
        raise ValueError(f'its last line is JSON without "url": {last[:200]!r}')
    ident = data.get("id")
    return Launched(_url(data["url"], "url"), None if ident is None else check_id(ident, "id"))


def parse_status(stdout: str) -> list[Listed]:
    """The instances a status command listed (those of greenflag's versions). ValueError for a malformed answer."""
    try:
        data = json.loads(stdout)
    except ValueError as exc:
        raise ValueError(f"its output is not JSON ({exc}): {stdout.strip()[:200]!r}") from None
    if isinstance(data, dict) and isinstance(data.get("instances"), list):
        data = data["instances"]
    if not isinstance(data, list):
        raise ValueError('expected a JSON list of instances, or {"instances": [...]}')
    out = []
    for i, item in enumerate(data):
        where = f"instances[{i}]"
        if not isinstance(item, dict) or not {"id", "version", "url"} <= set(item):
            raise ValueError(f'{where}: expected {{"id": ..., "version": ..., "url": ...}}, got {item!r:.200}')
        version = item["version"]
        if not isinstance(version, str) or _VERSION.fullmatch(version) is None:
            continue  # not one of greenflag's versions
        out.append(Listed(check_id(item["id"], f"{where}.id"), version, _url(item["url"], f"{where}.url")))
    return out
