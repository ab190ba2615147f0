"""`hooks:` (lifecycle commands) and `notifications:` (webhooks on rollout events)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from greenflag.spec.base import Duration, Model

__all__ = ["HookCommand", "HookList", "HooksSpec", "NotificationSpec"]


class HookCommand(Model):
    run: str
    timeout: Duration = 300.0


def _hook_list(value: Any) -> Any:
    if isinstance(value, str):
        return [{"run": value}]
    if isinstance(value, list):
        return [{"run": v} if isinstance(v, str) else v for v in value]
    return value


HookList = Annotated[list[HookCommand], BeforeValidator(_hook_list)]


class HooksSpec(Model):
    before_install: HookList = Field(default_factory=list)
    after_install: HookList = Field(default_factory=list)
    after_allow_test_traffic: HookList = Field(default_factory=list)
    before_allow_traffic: HookList = Field(default_factory=list)
    after_allow_traffic: HookList = Field(default_factory=list)
    on_rollback: HookList = Field(default_factory=list)


class NotificationSpec(Model):
    webhook: str
    events: list[str] = Field(default_factory=lambda: ["rollout_completed", "rollout_aborted"])
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = 5.0
