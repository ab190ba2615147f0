"""Content-Security-Policy parsing with MDN HTTP Observatory's semantics (`src/analyzer/cspParser.js`), pure.

A policy is `directive source source; directive ...`, directives case-insensitive, sources lower-cased. A source
list with no sources (`script-src;`) means `'none'`. A directive repeated within one policy makes the policy
invalid, except report-uri and report-to (kept once, with a duplicate warning). Several policies (several headers,
comma-separated values, `<meta http-equiv>` tags) all apply, so a source survives only if every policy that names
the directive allows it; a directive left with no source becomes `'none'`. A policy shorter than 6 characters
(the length of the shortest useful one, "img-src" less one) is invalid.
"""

from __future__ import annotations

import itertools
from urllib.parse import unquote

__all__ = ["DUPLICATE_WARNINGS", "META_FORBIDDEN", "CspError", "parse_csp", "parse_csp_meta", "split_policies"]

__pure__ = True

DUPLICATE_WARNINGS = "_duplicate_warnings"  # key holding the directives that were repeated (allowed ones only)
META_FORBIDDEN = ("frame-ancestors", "report-uri", "sandbox")  # ignored in <meta http-equiv> policies
_ALLOWED_DUPLICATES = frozenset({"report-uri", "report-to"})
_SHORTEST = len("img-src") - 1

Csp = dict[str, set[str]]


class CspError(ValueError):
    """The policy cannot be parsed (the Observatory's "csp-header-invalid")."""


def split_policies(values: list[str]) -> list[str]:
    """Header values → policies: a comma separates policies (RFC 9110 list syntax; commas are not CSP syntax)."""
    return [part.strip() for value in values for part in value.split(",")]


def _path_part_match(first: str, second: str) -> bool:
    """The Observatory's test that `second` is covered by `first` across two policies (path-wise)."""
    if not first:
        return True
    if first == "/" and not second:
        return True
    exact = not first.endswith("/")
    parts_a, parts_b = first.split("/"), second.split("/")
    if len(parts_a) > len(parts_b) or (exact and len(parts_a) != len(parts_b)):
        return False
    if not exact:
        parts_a.pop()
    return all(unquote(a) == unquote(b) for a, b in zip(parts_a, parts_b, strict=False))


class _Source:
    __slots__ = ("index", "keep", "text")

    def __init__(self, text: str, index: int, keep: bool) -> None:
        self.text, self.index, self.keep = text, index, keep


def _combine(sources: list[_Source]) -> list[_Source]:
    """Sort one directive's sources and keep the ones that count (the Observatory's pairwise pass)."""
    sources.sort(key=lambda source: source.text)
    for previous, source in itertools.pairwise(sources):
        if source.index == previous.index and source.text.startswith(previous.text):
            source.keep = False  # https://a.example/x is redundant beside https://a.example/
        if source.index != previous.index and _path_part_match(previous.text, source.text):
            source.keep = True  # allowed by both policies
    return [source for source in sources if source.keep]


def parse_csp(policies: list[str]) -> Csp:
    """Policies → {directive: sources}; raises CspError for an invalid policy."""
    clean = [policy.replace("\r", "").replace("\n", "").strip() for policy in policies]
    if not clean:
        return {}
    for policy in clean:
        if len(policy) < _SHORTEST:
            raise CspError(f"invalid policy {policy!r}")
    merged: dict[str, list[_Source]] = {}
    duplicates: set[str] = set()
    for index, policy in enumerate(clean):
        seen: set[str] = set()
        for entry in policy.split(";"):
            words = entry.strip().split()
            if not words:
                continue
            directive = words[0].lower()
            if directive in seen:
                if directive not in _ALLOWED_DUPLICATES:
                    raise CspError(f"directive {directive} repeated in policy {index + 1}")
                duplicates.add(directive)
            seen.add(directive)
            keep = index == 0
            values = [_Source(word.strip().lower(), index, keep) for word in words[1:]]
            if not values and directive.endswith("-src"):
                values = [_Source("'none'", index, keep)]
            merged[directive] = _combine(values if index == 0 else [*merged.get(directive, []), *values])
            if index == 0 and len(policies) > 1:
                for source in merged[directive]:
                    source.keep = False  # a later policy must allow it again to keep it
    out: Csp = {directive: {s.text for s in sources} or {"'none'"} for directive, sources in merged.items()}
    if duplicates:
        out[DUPLICATE_WARNINGS] = duplicates
    return out


def parse_csp_meta(policies: list[str]) -> Csp:
    """A `<meta http-equiv="Content-Security-Policy">` policy: directives only headers may set are dropped."""
    csp = parse_csp(policies)
    for directive in META_FORBIDDEN:
        csp.pop(directive, None)
    return csp
