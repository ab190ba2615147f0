"""The state of CloudWatch alarms (DescribeAlarms; boto3, the `[aws]` extra, imported when first used). Fetch only:
`poll` never raises and never judges — `greenflag.analysis.alarms.alarm_trigger` decides.

Metric alarms and composite alarms are both read. One call (at most 100 names), in a worker thread, with the
timeout for connecting and reading and botocore's standard retries (3 attempts) for throttling and 5xx answers.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from greenflag.analysis.alarms import AlarmPoll, AlarmState
from greenflag.errors import ConfigError

__all__ = ["CloudWatchAlarms", "require_boto3"]


def require_boto3(where: str) -> None:
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise ConfigError(f"{where}: CloudWatch alarms need boto3: pip install 'greenflag[aws]'") from None


class CloudWatchAlarms:
    def __init__(self, *, region: str | None, endpoint_url: str | None = None, timeout: float = 5.0) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.timeout = timeout
        self._client: Any = None

    def _describe(self, names: list[str]) -> tuple[AlarmState, ...]:
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=self.timeout, read_timeout=self.timeout,
                            retries={"max_attempts": 3, "mode": "standard"})  # fmt: skip
            self._client = boto3.session.Session().client(
                "cloudwatch", region_name=self.region, endpoint_url=self.endpoint_url, config=config
            )
        answer = self._client.describe_alarms(
            AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"], MaxRecords=100
        )
        out = []
        for alarm in [*(answer.get("MetricAlarms") or []), *(answer.get("CompositeAlarms") or [])]:
            updated = alarm.get("StateUpdatedTimestamp")
            out.append(AlarmState(
                name=str(alarm["AlarmName"]), state=str(alarm.get("StateValue", "INSUFFICIENT_DATA")),
                reason=str(alarm.get("StateReason", "")),
                updated_at=updated.timestamp() if hasattr(updated, "timestamp") else None,
            ))  # fmt: skip
        return tuple(out)

    async def poll(self, names: list[str]) -> AlarmPoll:
        at = time.time()
        try:
            return AlarmPoll(at, await asyncio.to_thread(self._describe, list(names)))
        except Exception as exc:  # botocore's ClientError, EndpointConnectionError, NoCredentialsError, ...
            error = getattr(exc, "response", {}).get("Error", {}) if hasattr(exc, "response") else {}
            detail = f"{error.get('Code')}: {error.get('Message')}" if error else f"{type(exc).__name__}: {exc}"
            return AlarmPoll(at, error=f"DescribeAlarms failed: {detail}")

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and hasattr(client, "close"):
            client.close()
