"""Which requests a WAF check sends: payloads × placeholders × encoders, cut to a request budget (pure).

GoTestWAF's model (its README, "test case" YAML): a request is one payload, passed through one encoder, placed in
one part of the request (a placeholder). An encoder only applies where the receiving side decodes it the same way
(`COMPATIBLE`): a base64 value in a cookie or header is how tokens travel, a `\\uXXXX` escape is decoded by every
JSON parser, `%uXXXX` by IIS-style URL decoders. After encoding, the placeholder applies only the escaping its
syntax needs (a space or `#` cannot stay raw in a query), so `plain` sends the payload as close to raw as HTTP/1.1
allows. A combination that cannot be sent at all (a raw line break in a header) is skipped, not faked.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from greenflag.readiness.urltext import percent_encode

__all__ = [
    "BASELINE_PAYLOAD",
    "BENIGN_ENCODERS",
    "COMPATIBLE",
    "ENCODERS",
    "PLACEHOLDERS",
    "Case",
    "PayloadSet",
    "WafRequest",
    "apply_budget",
    "baseline_cases",
    "build_request",
    "encode",
    "plan_cases",
]

__pure__ = True

Kind = Literal["attack", "benign", "baseline"]
PLACEHOLDERS = ("query", "form", "json", "xml", "header", "cookie", "path")
ENCODERS = ("plain", "url", "double_url", "unicode", "base64")
COMPATIBLE: dict[str, frozenset[str]] = {
    "query": frozenset({"plain", "url", "double_url", "unicode"}),
    "form": frozenset({"plain", "url", "unicode"}),
    "json": frozenset({"plain", "unicode"}),
    "xml": frozenset({"plain"}),
    "header": frozenset({"plain", "url", "base64"}),
    "cookie": frozenset({"plain", "url", "base64"}),
    "path": frozenset({"plain", "url", "double_url"}),
}
PARAM = "q"  # the parameter, JSON key and cookie name a payload travels in
HEADER = "User-Agent"  # the header placeholder: logged by most services, inspected by most WAFs
BASELINE_PAYLOAD = "greenflag"
# Legitimate clients send text raw or percent-encoded; nobody sends a comment form double-encoded or as %uXXXX,
# so benign look-alikes only travel the way real traffic does.
BENIGN_ENCODERS = ("plain", "url")


@dataclass(frozen=True)
class PayloadSet:
    """One attack class (or its benign look-alikes) as loaded from the corpus."""

    id: str
    title: str
    owasp: str
    placeholders: tuple[str, ...]
    encoders: tuple[str, ...]
    attacks: tuple[str, ...]
    benign: tuple[str, ...] = ()
    json_raw: bool = False
    benign_placeholders: tuple[str, ...] | None = None  # None: the same as the attacks'
    benign_encoders: tuple[str, ...] = BENIGN_ENCODERS


@dataclass(frozen=True)
class Case:
    set_id: str
    kind: Kind
    index: int  # position of the payload in its list
    payload: str
    placeholder: str
    encoder: str
    json_raw: bool = False

    @property
    def key(self) -> str:
        return f"{self.set_id}/{self.kind}/{self.index}/{self.placeholder}/{self.encoder}"


@dataclass(frozen=True)
class WafRequest:
    method: str
    target: str  # raw path and query, sent exactly as written
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None


_HEX = "0123456789abcdefABCDEF"


def _percent(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


def _escape(text: str, must: str) -> str:
    """Percent-encode only what cannot stay raw: control and non-ASCII characters, the characters in `must`,
    and a `%` that does not already start an escape (`%41` or IIS-style `%u0041`)."""
    out = []
    for i, char in enumerate(text):
        code = ord(char)
        if char == "%":
            rest = text[i + 1 : i + 6]
            escaped = (len(rest) >= 2 and rest[0] in _HEX and rest[1] in _HEX) or (
                len(rest) == 5 and rest[0] in "uU" and all(c in _HEX for c in rest[1:])
            )
            out.append(char if escaped else "%25")
        elif code < 0x21 or code >= 0x7F or char in must:
            out.append(_percent(char))
        else:
            out.append(char)
    return "".join(out)


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _unicode_escapes(text: str, prefix: str) -> str:
    """Every character that is not a letter or digit as prefix + 4 hex digits (UTF-16 code units)."""
    return "".join(
        char if char.isascii() and char.isalnum() else "".join(f"{prefix}{unit:04x}" for unit in _utf16(char))
        for char in text
    )


def encode(encoder: str, payload: str, placeholder: str) -> str:
    """The payload as the encoder writes it for this placeholder (before the placeholder's own escaping)."""
    if encoder == "plain":
        return payload
    if encoder == "url":
        return percent_encode(payload)
    if encoder == "double_url":
        return percent_encode(percent_encode(payload))
    if encoder == "unicode":
        return _unicode_escapes(payload, "\\u" if placeholder == "json" else "%u")
    if encoder == "base64":
        return base64.b64encode(payload.encode("utf-8")).decode("ascii")
    raise ValueError(f"unknown encoder {encoder!r}")


_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]*$")


def _split_base(base_target: str) -> tuple[str, str]:
    path, _, query = base_target.partition("?")
    return path or "/", query


def build_request(case: Case, base_target: str = "/") -> WafRequest | None:
    """The HTTP request for one case against the target's path and query; None if HTTP cannot carry it."""
    path, query = _split_base(base_target)
    sep = query + "&" if query else ""
    suffix = "?" + query if query else ""
    value = encode(case.encoder, case.payload, case.placeholder)
    place = case.placeholder
    if place == "query":
        return WafRequest("GET", f"{path}?{sep}{PARAM}={_escape(value, ' #&+')}")
    if place == "form":
        body = f"{PARAM}={_escape(value, ' #&+')}".encode("ascii")
        return WafRequest("POST", path + suffix, (("Content-Type", "application/x-www-form-urlencoded"),), body)
    if place == "json":
        if case.encoder == "unicode":
            text = '{"' + PARAM + '": "' + value + '"}'
        else:
            text = json.dumps({PARAM: _json_value(case, value)})
        return WafRequest("POST", path + suffix, (("Content-Type", "application/json"),), text.encode("utf-8"))
    if place == "xml":
        return WafRequest("POST", path + suffix, (("Content-Type", "application/xml"),), value.encode("utf-8"))
    if place in ("header", "cookie"):
        if not _HEADER_VALUE.match(value):
            return None  # a line break or a non-ASCII character cannot travel in a header
        header = (HEADER, value) if place == "header" else ("Cookie", f"{PARAM}={value}")
        return WafRequest("GET", path + suffix, (header,))
    if place == "path":
        return WafRequest("GET", f"{path.rstrip('/')}/{_escape(value, ' #?')}{suffix}")
    raise ValueError(f"unknown placeholder {place!r}")


def _json_value(case: Case, value: str) -> object:
    if case.json_raw and case.encoder == "plain":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def plan_cases(sets: Iterable[PayloadSet]) -> list[Case]:
    """Every payload × compatible placeholder × encoder the sets ask for, attacks then benign, in corpus order."""
    cases: list[Case] = []
    for payload_set in sets:
        benign_places = payload_set.benign_placeholders or payload_set.placeholders
        benign_encoders = [e for e in payload_set.encoders if e in payload_set.benign_encoders]
        groups: tuple[tuple[Kind, Sequence[str], Sequence[str], Sequence[str]], ...] = (
            ("attack", payload_set.attacks, payload_set.placeholders, payload_set.encoders),
            ("benign", payload_set.benign, benign_places, benign_encoders),
        )
        for kind, payloads, places, encoders in groups:
            for index, payload in enumerate(payloads):
                for placeholder in places:
                    for encoder in encoders:
                        if encoder in COMPATIBLE[placeholder]:
                            cases.append(
                                Case(
                                    payload_set.id,
                                    kind,
                                    index,
                                    payload,
                                    placeholder,
                                    encoder,
                                    payload_set.json_raw,
                                )
                            )
    return cases


def apply_budget(cases: Sequence[Case], budget: int) -> list[Case]:
    """At most `budget` cases, taken round-robin over (set, kind, placeholder, encoder) so a cut corpus still
    covers every combination evenly instead of dropping whole attack classes. Order within a stratum is kept."""
    if budget >= len(cases):
        return list(cases)
    strata: dict[tuple[str, str, str, str], list[Case]] = {}
    for case in cases:
        strata.setdefault((case.set_id, case.kind, case.placeholder, case.encoder), []).append(case)
    queues = list(strata.values())
    chosen: list[Case] = []
    depth = 0
    while len(chosen) < budget:
        for queue in queues:
            if depth < len(queue):
                chosen.append(queue[depth])
                if len(chosen) == budget:
                    break
        depth += 1
    return chosen


def baseline_cases(cases: Iterable[Case]) -> list[Case]:
    """One harmless request per placeholder in use: what the target answers when nothing is wrong."""
    placeholders = sorted({case.placeholder for case in cases}, key=PLACEHOLDERS.index)
    payload = '<?xml version="1.0"?><greenflag/>'
    return [
        Case("baseline", "baseline", 0, payload if p == "xml" else BASELINE_PAYLOAD, p, "plain") for p in placeholders
    ]
