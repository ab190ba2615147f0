"""The Elastic Load Balancing v2 API calls the ALB driver makes (boto3, the `[aws]` extra, imported when first used).

Every call runs in a worker thread (boto3 is synchronous) with the spec's timeout for connecting and reading and
botocore's standard retries (3 attempts, with backoff, for throttling and 5xx answers). Credentials come from
boto3's usual chain (environment, profile, instance or task role); `endpoint_url` points at another endpoint
(a VPC endpoint, or moto in the tests). Any failure is an `AlbError` saying which call failed and why.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from greenflag.spec import AlbRouterSpec

__all__ = ["ActionOwner", "AlbError", "ElbApi", "TargetState"]


class AlbError(ConnectionError):
    """The ELB API could not be reached, refused a call, or did not hold what was written; the message says which."""


@dataclass(frozen=True)
class ActionOwner:
    """Whose actions greenflag steers: a listener's default actions, or one rule's actions."""

    arn: str
    rule: bool = False

    @property
    def label(self) -> str:
        return ("rule " if self.rule else "listener ") + self.arn


@dataclass(frozen=True)
class TargetState:
    """One registered target of a target group, as DescribeTargetHealth reports it."""

    address: str  # ID:PORT (an IP address, or an instance ID)
    state: str  # initial | healthy | unhealthy | unused | draining | unavailable | unhealthy.draining
    reason: str = ""  # Target.ResponseCodeMismatch, Target.NotInUse, ...


class ElbApi:
    def __init__(self, spec: AlbRouterSpec) -> None:
        self.spec = spec
        self._client: Any = None

    def _make_client(self) -> Any:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise AlbError("router.kind alb needs boto3: pip install 'greenflag[aws]'") from None
        config = Config(
            connect_timeout=self.spec.timeout,
            read_timeout=self.spec.timeout,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        session = boto3.session.Session()
        return session.client("elbv2", region_name=self.spec.region, endpoint_url=self.spec.endpoint_url, config=config)

    def _call_sync(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        if self._client is None:
            self._client = self._make_client()
        result: dict[str, Any] = getattr(self._client, operation)(**kwargs)
        return result

    async def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return await asyncio.to_thread(self._call_sync, operation, kwargs)
        except AlbError:
            raise
        except Exception as exc:  # botocore's ClientError, EndpointConnectionError, NoCredentialsError, ...
            error = getattr(exc, "response", {}).get("Error", {}) if hasattr(exc, "response") else {}
            detail = f"{error.get('Code')}: {error.get('Message')}" if error else f"{type(exc).__name__}: {exc}"
            raise AlbError(f"ALB {operation} failed: {detail}") from None

    async def actions(self, owner: ActionOwner) -> list[dict[str, Any]]:
        if owner.rule:
            rules = (await self.call("describe_rules", RuleArns=[owner.arn])).get("Rules") or []
            if not rules:
                raise AlbError(f"ALB rule {owner.arn} not found")
            return list(rules[0].get("Actions") or [])
        found = (await self.call("describe_listeners", ListenerArns=[owner.arn])).get("Listeners") or []
        if not found:
            raise AlbError(f"ALB listener {owner.arn} not found")
        return list(found[0].get("DefaultActions") or [])

    async def set_actions(self, owner: ActionOwner, actions: list[dict[str, Any]]) -> None:
        if owner.rule:
            await self.call("modify_rule", RuleArn=owner.arn, Actions=actions)
        else:
            await self.call("modify_listener", ListenerArn=owner.arn, DefaultActions=actions)

    async def targets(self, target_group: str) -> list[TargetState]:
        answer = await self.call("describe_target_health", TargetGroupArn=target_group)
        out = []
        for item in answer.get("TargetHealthDescriptions") or []:
            target, health = item.get("Target") or {}, item.get("TargetHealth") or {}
            address = f"{target.get('Id')}:{target.get('Port')}" if target.get("Port") else str(target.get("Id"))
            out.append(TargetState(address, str(health.get("State", "unknown")), str(health.get("Reason") or "")))
        return out

    async def attribute(self, target_group: str, key: str) -> str | None:
        answer = await self.call("describe_target_group_attributes", TargetGroupArn=target_group)
        return next((str(a.get("Value")) for a in answer.get("Attributes") or [] if a.get("Key") == key), None)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and hasattr(client, "close"):
            client.close()
