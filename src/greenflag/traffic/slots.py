"""Fixed slots of a real load balancer (HAProxy servers, nginx upstream servers): which greenflag backend each one
carries, and the weights every change writes. Pure: the drivers read the balancer, call these, then write.

A slot is a server the balancer's configuration names once (`servers: {blue: s_blue, green: s_green}`); a version
the platform launched is a greenflag backend with an address. `assign` points backends at slots:

1. a backend whose address a slot already points at keeps that slot (a restarted controller finds its versions
   where it left them; nothing moves under traffic);
2. a backend named like a free slot takes it (`router set-weights blue=… green=…` on a fixed fleet);
3. any other backend takes the first free slot, in configuration order, that is not still draining.

A slot is free when no backend of the new set holds it. There are never more backends than slots.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = ["Assignment", "SlotError", "assign", "complete_weights", "url_address"]
__pure__ = True

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))$")

Assignment = dict[str, str]  # backend name → slot name


class SlotError(ValueError):
    """The backends cannot be placed (too many, or a bad address); the message says which."""


def url_address(url: str) -> str:
    """`http://HOST:PORT[/]` → `HOST:PORT`, the address a balancer's server points at. Raises SlotError."""
    match = re.fullmatch(r"^http://([^/?#\s]+?)/?$", url)
    if match is None:
        raise SlotError(f"{url!r}: expected http://HOST:PORT")
    host, sep, port = match.group(1).rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not _HOST.fullmatch(host):
        raise SlotError(f"{url!r}: expected http://HOST:PORT with a numeric port")
    return f"{host}:{int(port)}"


def assign(
    slots: Mapping[str, str | None],
    backends: Mapping[str, str],
    *,
    draining: Iterable[str] = (),
) -> Assignment:
    """Backend name → slot for `backends` (name → HOST:PORT). `slots` is every slot in configuration order with
    the address it points at now (None: unknown); `draining` slots are reused only when nothing else is free."""
    order = list(slots)
    if len(backends) > len(order):
        raise SlotError(
            f"{len(backends)} backends ({', '.join(backends)}) but only {len(order)} slots "
            f"({', '.join(order)}): add servers to router.servers"
        )
    out: Assignment = {}
    taken: set[str] = set()
    for name, address in backends.items():  # 1. already there
        slot = next((s for s in order if s not in taken and slots[s] == address), None)
        if slot is not None:
            out[name] = slot
            taken.add(slot)
    for name in backends:  # 2. a slot of the same name
        if name not in out and name in slots and name not in taken:
            out[name] = name
            taken.add(name)
    busy = set(draining)
    free = [s for s in order if s not in taken and s not in busy] + [s for s in order if s not in taken and s in busy]
    for name in backends:  # 3. the first free slot
        if name not in out:
            out[name] = free.pop(0)
    return {name: out[name] for name in backends}


def complete_weights(
    names: Iterable[str], weights: Mapping[str, object], *, maximum: int | None = None
) -> dict[str, int]:
    """Every backend's weight for one change: names not given get 0. Raises SlotError for unknown names or weights
    that are not non-negative integers (at most `maximum`)."""
    known = list(names)
    for name, value in weights.items():
        if name not in known:
            raise SlotError(f"unknown backend {name!r} (known: {', '.join(known) or 'none'})")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise SlotError(f"weight of {name!r} must be a non-negative integer, got {value!r}")
        if maximum is not None and value > maximum:
            raise SlotError(f"weight of {name!r} is {value}: at most {maximum} (give percentages, 0-100)")
    return {name: int(weights.get(name, 0)) for name in known}  # type: ignore[call-overload]
