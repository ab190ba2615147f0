"""Key-by-key comparison of a documented output example with a real one (pure).

A document becomes the set of its key paths: `metrics.http_reqs.count`, `events[].kind`. Under a `maps` path the
keys are data (backend names, request names), written `*`, and every entry is compared with the documented
entries. A list's elements all share one shape; the string "…" (or "...") in a documented list is an abbreviation
and ignored. `optional` paths (and what is below them) may be absent from the real output.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

__all__ = ["compare_keys", "key_names", "key_paths", "load_documents", "undocumented_names"]

_ABBREVIATIONS = ("…", "...")


def load_documents(text: str) -> Any:
    """A JSON or YAML document; JSON lines (one object per line) become a list of documents."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        return [json.loads(line) for line in lines]
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"neither JSON, JSON lines nor YAML: {str(exc).splitlines()[0]}") from None


def _matches(pattern: str, path: str) -> bool:
    p, q = pattern.split("."), path.split(".")
    return len(p) == len(q) and all(a in ("*", b) for a, b in zip(p, q, strict=True))


def key_paths(doc: Any, maps: tuple[str, ...] = (), prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(doc, dict):
        data_keys = bool(prefix) and any(_matches(m, prefix) for m in maps)
        for key, value in doc.items():
            if key in _ABBREVIATIONS:
                continue
            name = "*" if data_keys else str(key)
            path = f"{prefix}.{name}" if prefix else name
            out.add(path)
            out |= key_paths(value, maps, path)
    elif isinstance(doc, list):
        for item in doc:
            if isinstance(item, str) and item in _ABBREVIATIONS:
                continue
            out |= key_paths(item, maps, f"{prefix}[]")
    return out


def _covered(path: str, optional: tuple[str, ...]) -> bool:
    return any(path == o or path.startswith(o + ".") or path.startswith(o + "[]") for o in optional)


def compare_keys(
    documented: Any, reals: list[Any], maps: tuple[str, ...] = (), optional: tuple[str, ...] = ()
) -> list[str]:
    """Problems: keys of the real outputs that the example lacks, and documented keys that none of them has. An
    example that is one object stands for every element of an output that is a list (JSON lines, an array)."""
    doc_paths = key_paths(documented, maps)
    real_paths: set[str] = set()
    for real in reals:
        items = real if isinstance(documented, dict) and isinstance(real, list) else [real]
        for item in items:
            real_paths |= key_paths(item, maps)
    extra = _roots(real_paths - doc_paths)
    problems = [f"key {p!r} is in the output but not in the documented example" for p in extra]
    missing = {p for p in doc_paths - real_paths if not _covered(p, optional) and not _empty_container(p, real_paths)}
    problems += [f"documented key {p!r} is not in the output (optional= if it only sometimes is)"
                 for p in _roots(missing)]  # fmt: skip
    return problems


def _empty_container(path: str, real_paths: set[str]) -> bool:
    """Under a map or a list that the output has but that is empty there, no entry can be compared."""
    for mark in (".*", "[]"):
        cut = path.find(mark)
        while cut != -1:
            container, entry = path[:cut], path[: cut + len(mark)]
            if (container in real_paths or not container) and not any(
                p == entry or p.startswith(entry + ".") or p.startswith(entry + "[]") for p in real_paths
            ):
                return True
            cut = path.find(mark, cut + 1)
    return False


def _roots(paths: set[str]) -> list[str]:
    """Only the shortest paths: `a` stands for `a.b` and `a.c`."""
    return sorted(p for p in paths if not any(p != q and p.startswith((q + ".", q + "[]")) for q in paths))


def key_names(documented: Any, maps: tuple[str, ...] = ()) -> set[str]:
    """The key names the example documents (not the data keys under `maps`)."""
    names = set()
    for path in key_paths(documented, maps):
        last = re.split(r"\.|\[\]", path)
        tail = [s for s in last if s][-1:] if last else []
        if tail and tail[0] != "*":
            names.add(tail[0])
    return names


def undocumented_names(names: set[str], prose: str) -> list[str]:
    """Names that no inline code span of `prose` mentions (`name`, or `a.name`, `name: …` inside backticks)."""
    spans = re.findall(r"`([^`\n]+)`", prose)
    words = {w for span in spans for w in re.split(r"[^A-Za-z0-9_]+", span) if w}
    return sorted(n for n in names if n not in words)
