"""Helpers shared by the command modules: option parsers that raise UsageError naming the option."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from greenflag.errors import UsageError
from greenflag.units import parse_duration

__all__ = ["option_duration", "parse_kv", "parse_option"]

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
