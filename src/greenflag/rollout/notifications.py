"""Webhook notifications of rollout events (aiohttp). Best effort: a failing webhook never fails a rollout."""

from __future__ import annotations

import logging
from typing import Any

from greenflag.spec import NotificationSpec

__all__ = ["notify"]

log = logging.getLogger(__name__)


async def notify(targets: list[NotificationSpec], event: str, payload: dict[str, Any]) -> list[str]:
    """POST `{"event": ..., **payload}` as JSON to every webhook subscribed to `event`. Returns the errors."""
    import aiohttp

    errors: list[str] = []
    body = {"event": event, **payload}
    for target in targets:
        if event not in target.events:
            continue
        try:
            timeout = aiohttp.ClientTimeout(total=target.timeout)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(target.webhook, json=body, headers=target.headers) as response,
            ):
                if response.status >= 400:
                    errors.append(f"{target.webhook}: HTTP {response.status}")
        except Exception as exc:  # any failure of a webhook is reported, never raised
            errors.append(f"{target.webhook}: {type(exc).__name__}: {exc}")
    for error in errors:
        log.warning("notification %s failed: %s", event, error)
    return errors
