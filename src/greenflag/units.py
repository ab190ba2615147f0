"""Parsing of human units used across the CLI and greenflag.yaml: durations, rates, sizes."""

from __future__ import annotations

import re

__all__ = ["format_duration", "parse_duration", "parse_host_port", "parse_size"]
__pure__ = True

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|s|m|h)")
_UNIT_SECONDS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: object) -> float:
    """'30s', '1m30s', '500ms', '2h', or a bare number of seconds → seconds (float).

    Raises ValueError with a message that says what is expected.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 500ms, 30s, 5m or 1h")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 500ms, 30s, 5m or 1h")
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if number < 0:
            raise ValueError("a duration cannot be negative")
        return number
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos == 0 or pos != len(text):
        raise ValueError(f"{value!r} is not a duration; expected e.g. 500ms, 30s, 5m, 1h or 1m30s")
    return total


_SIZE = re.compile(r"(\d+)\s*([kmg]?)(?:i?b)?", re.I)
_SIZE_FACTOR = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(value: object) -> int:
    """'100m', '512k', '1g', '1MiB', '1048576' or a bare integer → bytes (binary units, as nginx: 1m = 1024 KiB).

    Raises ValueError with a message that says what is expected.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    match = _SIZE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a size; expected bytes or e.g. 512k, 100m, 1g")
    return int(match.group(1)) * _SIZE_FACTOR[match.group(2).lower()]


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s".replace(".0s", "s")
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def parse_host_port(value: str, *, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """'127.0.0.1:8000', ':8000', '8000' or '[::1]:8000' → (host, port)."""
    text = value.strip()
    host = default_host
    port_text = text
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or not text[end + 1 :].startswith(":"):
            raise ValueError(f"{value!r} is not HOST:PORT")
        host, port_text = text[1:end], text[end + 2 :]
    elif ":" in text:
        host_part, port_text = text.rsplit(":", 1)
        host = host_part or default_host
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{value!r} is not HOST:PORT with a port from 0 to 65535")
    return host, int(port_text)
