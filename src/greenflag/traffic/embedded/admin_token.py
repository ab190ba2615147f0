"""The admin token: read from a file, or created there (0600) on first start."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

__all__ = ["load_or_create_token", "read_token", "synthetic_key"]


def synthetic_key(token: str | None) -> str:
    """The value of `X-Greenflag-Synthetic` that marks greenflag's analysis traffic: derived from the admin token
    (whoever steers the router can tag; the key reveals nothing about the token), random without one."""
    if not token:
        return secrets.token_hex(16)
    return hmac.new(token.encode(), b"greenflag synthetic traffic", hashlib.sha256).hexdigest()[:32]


def read_token(path: str | Path) -> str:
    """The token in `path` (whitespace stripped). Raises ValueError naming the file when missing or empty."""
    p = Path(path)
    try:
        token = p.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ValueError(f"{p}: no such admin token file") from None
    except OSError as exc:
        raise ValueError(f"{p}: cannot read admin token: {exc.strerror}") from None
    if not token:
        raise ValueError(f"{p}: the admin token file is empty")
    return token


def load_or_create_token(path: str | Path) -> str:
    """Read the token, or write a new random one (mode 0600, parent directories created) when the file is absent."""
    p = Path(path)
    if p.exists():
        return read_token(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token
