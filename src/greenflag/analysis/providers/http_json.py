"""The `http_json` provider: GET a URL and pick a value out of the JSON body with a path like `data.items[0].v`.

The query (or `url`) is the URL; `json_path` selects the value (`$` or empty = the whole body).
"""

from __future__ import annotations

import re
from typing import Any

from greenflag.analysis.providers.base import Observation, render_query
from greenflag.errors import ConfigError
from greenflag.spec import MetricSpec
from greenflag.traffic.base import RouterStats

__all__ = ["HttpJsonProvider", "create", "parse_path", "select"]

_PART = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(-?\d+)\]|\[\"([^\"]*)\"\]|\['([^']*)'\]")


def parse_path(path: str) -> list[str | int]:
    """`$.data.items[0]["a b"]` → ['data', 'items', 0, 'a b']. Raises ValueError naming the column."""
    text = path.strip()
    text = text[1:] if text.startswith("$") else text
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None:
            raise ValueError(f"column {pos + 1}: cannot read the JSON path from {text[pos:]!r}")
        name, index, dq, sq = match.groups()
        parts.append(int(index) if index is not None else (name or dq or sq or ""))
        pos = match.end()
    return parts


def select(body: Any, parts: list[str | int]) -> Any:
    value = body
    for part in parts:
        in_list = isinstance(part, int) and isinstance(value, list) and -len(value) <= part < len(value)
        in_dict = isinstance(part, str) and isinstance(value, dict) and part in value
        if in_list or in_dict:
            value = value[part]
        else:
            raise KeyError(part)
    return value


class HttpJsonProvider:
    def __init__(self, url: str, json_path: str = "", timeout_s: float = 5.0, headers: dict[str, str] | None = None):
        self.url = url
        self.parts = parse_path(json_path)
        self.json_path = json_path
        self.timeout_s = timeout_s
        self.headers = headers or {}

    async def query(self, query: str, *, backend: str, window_s: float) -> Observation:
        import aiohttp

        url = render_query(self.url, backend=backend, window_s=window_s)
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout_s)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, headers=self.headers) as response,
            ):
                if response.status >= 400:
                    return Observation(error=f"http_json: {url}: HTTP {response.status}")
                body = await response.json(content_type=None)
        except Exception as exc:
            return Observation(error=f"http_json: {url}: {type(exc).__name__}: {exc}")
        try:
            return Observation(value=select(body, self.parts))
        except KeyError as exc:
            return Observation(error=f"http_json: {url}: {self.json_path!r} not found (at {exc.args[0]!r})")


def create(metric: MetricSpec, *, router: RouterStats | None = None, where: str = "") -> HttpJsonProvider:
    url = metric.url or metric.query
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}.url: the http_json provider needs an http(s) URL (url, or the query)")
    try:
        headers = {str(k): str(v) for k, v in dict(metric.options.get("headers", {})).items()}
        return HttpJsonProvider(url, metric.json_path or "", float(metric.options.get("timeout", 5.0)), headers)
    except ValueError as exc:
        raise ConfigError(f"{where}.json_path: {exc}") from None
