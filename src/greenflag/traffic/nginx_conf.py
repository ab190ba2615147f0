"""The upstream file greenflag writes for `router.kind: nginx`: render it from a state, and read a state back. Pure.

The file holds, for upstream `app`:

- `upstream app`: the weighted one. A slot at weight 0 is written `down` (nginx has no weight 0; a `down` server
  gets no request), so nothing reaches a version by omission;
- `upstream app__<slot>` per slot, and `map $http_<route header> $greenflag_app_upstream` from a header value (a
  slot or backend name) to it: the header route. With a pinned route every request carrying the header, whatever
  its value, goes to the pinned slot. The server's `proxy_pass http://$greenflag_app_upstream;` uses it;
- `map … $greenflag_app_generation`: a hash of everything above. The status location answers it, so greenflag can
  tell that the file it wrote is the one nginx's workers run.

The state is also written as one JSON comment line. Reading parses that line and renders it again: a file that
differs from its own rendering (edited by hand, cut short, not greenflag's) reads as None, never as weights.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

__all__ = [
    "UpstreamState",
    "generation_of",
    "generation_variable",
    "parse_upstream",
    "render_upstream",
    "upstream_variable",
]
__pure__ = True

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ADDRESS = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")
_STATE = "# greenflag-state: "
_MAP_WORDS = frozenset({"default", "hostnames", "include", "volatile"})  # special inside an nginx `map` block


@dataclass(frozen=True)
class UpstreamState:
    """What the file says: slots (in configuration order) with their addresses and weights, which backend name
    each slot carries, the pinned header route (a slot), and the settings rendering needs."""

    upstream: str
    route_header: str
    slots: dict[str, str]  # slot → HOST:PORT
    weights: dict[str, int]  # slot → weight (0 = down)
    names: dict[str, str] = field(default_factory=dict)  # backend name → slot
    pinned: str | None = None
    keepalive: int = 16

    def check(self) -> None:
        """Raise ValueError for anything that cannot go into nginx's configuration safely."""
        if not re.fullmatch(r"^[A-Za-z0-9_]{1,48}$", self.upstream):
            raise ValueError(f"upstream {self.upstream!r}: letters, digits and '_' only")
        if not re.fullmatch(r"^[A-Za-z0-9-]{1,64}$", self.route_header):
            raise ValueError(f"route header {self.route_header!r}: letters, digits and '-' only")
        for slot, address in self.slots.items():
            if not _NAME.fullmatch(slot) or slot in _MAP_WORDS or not _ADDRESS.fullmatch(address):
                raise ValueError(f"slot {slot!r} → {address!r}: expected a name and HOST:PORT")
        for name, slot in self.names.items():
            if not _NAME.fullmatch(name) or name in _MAP_WORDS or slot not in self.slots:
                raise ValueError(f"backend {name!r}: a name of letters, digits, '.', '_', '-' on a slot")
        if set(self.weights) != set(self.slots) or any(w < 0 for w in self.weights.values()):
            raise ValueError("every slot needs a non-negative weight")
        if self.pinned is not None and self.pinned not in self.slots:
            raise ValueError(f"pinned route {self.pinned!r} is not a slot")

    def to_json(self) -> str:
        data = {
            "upstream": self.upstream,
            "route_header": self.route_header,
            "slots": [[s, a] for s, a in self.slots.items()],
            "weights": self.weights,
            "names": self.names,
            "pinned": self.pinned,
            "keepalive": self.keepalive,
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> UpstreamState:
        data = json.loads(text)
        return cls(
            upstream=str(data["upstream"]),
            route_header=str(data["route_header"]),
            slots={str(s): str(a) for s, a in data["slots"]},
            weights={str(k): int(v) for k, v in data["weights"].items()},
            names={str(k): str(v) for k, v in data["names"].items()},
            pinned=None if data["pinned"] is None else str(data["pinned"]),
            keepalive=int(data["keepalive"]),
        )


def upstream_variable(upstream: str) -> str:
    """The variable `proxy_pass` uses: the weighted upstream, or a slot's for the header route."""
    return f"$greenflag_{upstream}_upstream"


def generation_variable(upstream: str) -> str:
    """The variable the status location answers: the generation (hash) of the live upstream file."""
    return f"$greenflag_{upstream}_generation"


def _upstream_block(name: str, servers: list[str], keepalive: int) -> list[str]:
    lines = [f"upstream {name} {{", *(f"    {s}" for s in servers)]
    if keepalive:
        lines.append(f"    keepalive {keepalive};")
    return [*lines, "}"]


def _body(state: UpstreamState) -> list[str]:
    state.check()
    up = state.upstream
    lines = [
        "# Written by greenflag (router.kind: nginx). Every change rewrites it: do not edit by hand.",
        _STATE + state.to_json(),
    ]
    weighted = [
        f"server {address} weight={state.weights[slot]};  # {slot}"
        if state.weights[slot] > 0
        else f"server {address} down;  # {slot}: weight 0"
        for slot, address in state.slots.items()
    ]
    lines += _upstream_block(up, weighted, state.keepalive)
    for slot, address in state.slots.items():
        lines += _upstream_block(f"{up}__{slot}", [f"server {address};"], state.keepalive)
    header = "$http_" + state.route_header.lower().replace("-", "_")
    lines.append(f"map {header} {upstream_variable(up)} {{")
    if state.pinned is not None:
        lines += [f'    "" {up};', f"    default {up}__{state.pinned};"]
    else:
        lines.append(f"    default {up};")
        keys = {slot: slot for slot in state.slots}
        keys.update(state.names)
        lines += [f"    {key} {up}__{slot};" for key, slot in keys.items()]
    lines.append("}")
    return lines


def render_upstream(state: UpstreamState) -> str:
    """The file's text for `state`. Raises ValueError for values nginx's syntax could not hold safely."""
    body = "\n".join(_body(state)) + "\n"
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    tail = f'map $host {generation_variable(state.upstream)} {{\n    default "{digest}";\n}}\n'
    return body + tail


def generation_of(text: str) -> str | None:
    """The generation a rendered file declares (None if it declares none)."""
    match = re.search(r'\{\n    default "([0-9a-f]{16})";\n\}\n\Z', text)
    return None if match is None else match.group(1)


def parse_upstream(text: str) -> UpstreamState | None:
    """The state a file greenflag rendered holds; None when the file is not exactly such a rendering."""
    line = next((ln for ln in text.splitlines() if ln.startswith(_STATE)), None)
    if line is None:
        return None
    try:
        state = UpstreamState.from_json(line.removeprefix(_STATE))
        return state if render_upstream(state) == text else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
