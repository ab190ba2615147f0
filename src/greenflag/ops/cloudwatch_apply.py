"""Create or update CloudWatch alarms (boto3, the `[aws]` extra, imported when called).

`PutMetricAlarm` creates an alarm or replaces the one of the same name, so applying the same definitions twice
leaves the same alarms; `prune` deletes `greenflag-SERVICE-…` alarms that are no longer defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from greenflag.errors import UsageError

__all__ = ["Applied", "apply_alarms"]


@dataclass(frozen=True)
class Applied:
    name: str
    action: str  # created, updated, deleted


def _client(region: str, endpoint_url: str | None) -> Any:
    try:
        import boto3
    except ImportError:
        raise UsageError("cloudwatch-alarms needs boto3: pip install 'greenflag[aws]'") from None
    from botocore.config import Config

    config = Config(connect_timeout=10, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client("cloudwatch", region_name=region, endpoint_url=endpoint_url, config=config)


def _existing(client: Any, prefix: str) -> set[str]:
    names: set[str] = set()
    for page in client.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"]):
        names.update(alarm["AlarmName"] for alarm in page.get("MetricAlarms", []))
    return names


def apply_alarms(
    alarms: list[dict[str, Any]],
    *,
    region: str,
    prefix: str,
    endpoint_url: str | None = None,
    prune: bool = False,
    tags: dict[str, str] | None = None,
) -> list[Applied]:
    """Put every alarm; with `prune`, delete alarms under `prefix` that `alarms` does not name."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = _client(region, endpoint_url)
    try:
        before = _existing(client, prefix)
        out: list[Applied] = []
        tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
        for alarm in alarms:
            request = {**alarm, "Tags": tag_list} if tag_list and alarm["AlarmName"] not in before else alarm
            client.put_metric_alarm(**request)
            out.append(Applied(alarm["AlarmName"], "updated" if alarm["AlarmName"] in before else "created"))
        stale = sorted(before - {alarm["AlarmName"] for alarm in alarms})
        if prune and stale:
            client.delete_alarms(AlarmNames=stale)
            out.extend(Applied(name, "deleted") for name in stale)
        return out
    except (BotoCoreError, ClientError) as exc:
        raise UsageError(f"cloudwatch: {exc}") from None
