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

from greenflag.readiness.headers.facts import Facts, Outcome, PageMeta
from greenflag.readiness.urltext import percent_decode

__all__ = [
    "DUPLICATE_WARNINGS",
    "META_FORBIDDEN",
    "CspError",
    "csp_test",
    "parse_csp",
    "parse_csp_meta",
    "split_policies",
]

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
    return all(percent_decode(a) == percent_decode(b) for a, b in zip(parts_a, parts_b, strict=False))


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


# --- the Observatory's CSP test (src/analyzer/tests/csp.js) ---------------------------------------------

DANGEROUSLY_BROAD = frozenset({"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"})
UNSAFE_INLINE = frozenset({"'unsafe-inline'", "data:"})
NONCES_HASHES = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")


def _nonces_and_strict_dynamic(script_src: set[str], style_src: set[str]) -> str | None:
    """Drop what a nonce or hash (and 'strict-dynamic') makes browsers ignore; 'strict-dynamic' without a nonce or
    hash is invalid. Mutates the sets (they are the parsed policy's own, as in the original)."""
    for sources in (script_src, style_src):
        if any(s.startswith(NONCES_HASHES) for s in sources):
            sources.discard("'unsafe-inline'")
    if any(s.startswith(NONCES_HASHES) for s in script_src) and "'strict-dynamic'" in script_src:
        for source in list(script_src):
            if source.startswith(tuple(DANGEROUSLY_BROAD)) or source in ("'self'", "'unsafe-inline'"):
                script_src.discard(source)
    elif "'strict-dynamic'" in script_src:
        return "csp-header-invalid"
    return None


def csp_test(facts: Facts, meta: PageMeta) -> Outcome:
    name = "content-security-policy"
    auto = facts.auto
    if auto is None or auto.response is None:
        return Outcome(name, "csp-not-implemented", False)
    https = auto.start_url.startswith("https:")
    http_policies = split_policies(auto.response.values("content-security-policy"))
    meta_policies = split_policies(list(meta.csp))
    try:
        csp = parse_csp(http_policies + meta_policies)
    except CspError:
        return Outcome(name, "csp-header-invalid", False)
    try:
        header_only = parse_csp(http_policies)
    except CspError:
        header_only = {}
    try:
        meta_only = parse_csp_meta(meta_policies)
    except CspError:
        meta_only = {}
    if len(header_only) + len(meta_only) == 0:
        report_only = auto.response.get("content-security-policy-report-only")
        return Outcome(name, "csp-not-implemented-but-reporting-enabled" if report_only else "csp-not-implemented",
                       False)  # fmt: skip

    def either(*names: str) -> set[str]:
        for directive in names:
            if directive in csp:
                return csp[directive]  # the same set object: removals below show in csp too, as in the original
        return {"*"}

    object_src, script_src, style_src = either("object-src", "default-src"), either("script-src", "default-src"), \
        either("style-src", "default-src")  # fmt: skip
    result = _nonces_and_strict_dynamic(script_src, style_src)
    active = [s for d, sources in csp.items() if d not in ("img-src", "media-src", "script-src") for s in sources]
    active += list(script_src)
    passive = [s for d in ("img-src", "media-src") for s in (csp.get(d) or csp.get("default-src") or set())]
    checks = (
        ("csp-implemented-with-unsafe-inline", any(s in DANGEROUSLY_BROAD | UNSAFE_INLINE for s in script_src)
         or any(s in DANGEROUSLY_BROAD for s in object_src)),
        ("csp-implemented-with-insecure-scheme", https and any(s.startswith(("http:", "ftp:")) for s in active)),
        ("csp-implemented-with-unsafe-eval", "'unsafe-eval'" in script_src | style_src),
        ("csp-implemented-with-insecure-scheme-in-passive-content-only",
         https and any(s.startswith(("http:", "ftp:")) for s in passive)),
        ("csp-implemented-with-unsafe-inline-in-style-src-only",
         any(s in DANGEROUSLY_BROAD | UNSAFE_INLINE for s in style_src)),
    )  # fmt: skip
    for outcome, applies in checks:
        if applies and result is None:
            result = outcome
    if result is None:
        result = "csp-implemented-with-no-unsafe-default-src-none" if csp.get("default-src") == {"'none'"} else \
            "csp-implemented-with-no-unsafe"  # fmt: skip
    passed = result in ("csp-implemented-with-no-unsafe", "csp-implemented-with-no-unsafe-default-src-none",
                        "csp-implemented-with-unsafe-inline-in-style-src-only",
                        "csp-implemented-with-insecure-scheme-in-passive-content-only")  # fmt: skip
    if passed and DUPLICATE_WARNINGS in csp:
        result = "csp-implemented-but-duplicate-directives"
    data = {d: sorted(sources) for d, sources in csp.items() if d != DUPLICATE_WARNINGS}
    return Outcome(name, result, passed, data)
