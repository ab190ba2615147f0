"""Helpers shared by the command modules: option parsers that raise UsageError naming the option."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from greenflag.errors import UsageError
from greenflag.units import parse_duration

__all__ = ["option_duration", "parse_kv", "parse_option", "parse_status_codes"]

T = TypeVar("T")


def parse_option(option: str, value: str, parse: Callable[[str], T]) -> T:
    try:
        return parse(value)
    except ValueError as exc:
        raise UsageError(f"{option} {value!r}: {exc}") from None


def option_duration(option: str, value: str) -> float:
    return parse_option(option, value, parse_duration)


def parse_kv(option: str, value: str, sep: str = "=") -> tuple[str, str]:
    key, found, rest = value.partition(sep)
    if not found or not key.strip():
        raise UsageError(f"{option} {value!r}: expected NAME{sep}VALUE")
    return key.strip(), rest.strip()


def parse_status_codes(option: str, values: Iterable[str]) -> frozenset[int]:
    """'403,406', '200-299' (repeatable) → HTTP status codes; UsageError names the option."""
    out: set[int] = set()
    for value in values:
        for part in value.split(","):
            low, sep, high = part.strip().partition("-")
            try:
                first, last = int(low), int(high) if sep else int(low)
            except ValueError:
                raise UsageError(f"{option} {value!r}: expected status codes such as 200, 200,204 or 200-299") from None
            if not 100 <= first <= last <= 599:
                raise UsageError(f"{option} {value!r}: status codes run from 100 to 599, low to high")
            out.update(range(first, last + 1))
    return frozenset(out)
