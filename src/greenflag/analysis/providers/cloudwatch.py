"""The `cloudwatch` provider: CloudWatch GetMetricData (boto3, the `[aws]` extra, imported lazily).

`query` is either a YAML/JSON list of MetricDataQueries in the AWS API's shape (as in Argo Rollouts), or the
shorthand `NAMESPACE:METRIC` with `options: {dimensions: {Name: Value}, stat: Average, period: 60}`
(`{{backend}}` works in dimension values). Options: `region`, `endpoint_url`, `timeout` (5 s), `max_attempts`
(1). The result is the returned query's values, newest first (`result[0]`); with several returned queries, a
mapping Id → values.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from greenflag.analysis.providers.base import Observation, render_query
from greenflag.errors import ConfigError
from greenflag.spec import MetricSpec
from greenflag.traffic.base import RouterStats

__all__ = ["CloudWatchProvider", "create", "parse_queries"]


def parse_queries(query: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    """The MetricDataQueries for a query text (pure). Raises ValueError saying what is expected."""
    import yaml

    text = query.strip()
    if text.startswith("["):
        data = yaml.safe_load(text)
        if not isinstance(data, list) or not all(isinstance(q, dict) and "Id" in q for q in data):
            raise ValueError("expected a list of MetricDataQueries, each with Id")
        return data
    namespace, sep, name = text.rpartition(":")
    if not sep or not namespace or not name:
        raise ValueError("expected NAMESPACE:METRIC (e.g. AWS/ApplicationELB:HTTPCode_Target_5XX_Count) or a list")
    dims = options.get("dimensions", {}) or {}
    metric = {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": [{"Name": str(k), "Value": str(v)} for k, v in dict(dims).items()],
    }
    stat = {"Metric": metric, "Period": int(options.get("period", 60)), "Stat": str(options.get("stat", "Average"))}
    return [{"Id": "m0", "MetricStat": stat, "ReturnData": True}]


class CloudWatchProvider:
    def __init__(self, query: str, options: dict[str, Any]) -> None:
        self.template = query
        self.options = options
        self._client: Any = None

    def _get(self, query: str, options: dict[str, Any], window_s: float) -> Observation:
        import boto3
        from botocore.config import Config

        if self._client is None:
            # The session measures again at the next interval: keep one query's retries short.
            config = Config(
                connect_timeout=float(self.options.get("timeout", 5.0)),
                read_timeout=float(self.options.get("timeout", 5.0)),
                retries={"max_attempts": int(self.options.get("max_attempts", 1)), "mode": "standard"},
            )
            self._client = boto3.client(
                "cloudwatch",
                region_name=self.options.get("region", "us-east-1"),
                endpoint_url=self.options.get("endpoint_url"),
                config=config,
            )
        queries = parse_queries(query, options)
        periods = [int(q.get("MetricStat", {}).get("Period", 60)) for q in queries]
        end = dt.datetime.now(dt.UTC)
        start = end - dt.timedelta(seconds=max(window_s, *periods))
        response = self._client.get_metric_data(
            MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampDescending"
        )
        results = response.get("MetricDataResults", [])
        values = {r["Id"]: [float(v) for v in r.get("Values", [])] for r in results}
        if len(values) == 1:
            return Observation(value=next(iter(values.values())))
        return Observation(value=values)

    def _dims(self) -> dict[str, Any]:
        dims = self.options.get("dimensions") or {}
        return dict(dims) if isinstance(dims, dict) else {}

    async def query(self, query: str, *, backend: str, window_s: float) -> Observation:
        text = render_query(query or self.template, backend=backend, window_s=window_s)
        dims = {k: render_query(str(v), backend=backend, window_s=window_s) for k, v in self._dims().items()}
        options = {**self.options, "dimensions": dims}
        try:
            return await asyncio.to_thread(self._get, text, options, window_s)
        except Exception as exc:
            return Observation(error=f"cloudwatch: {type(exc).__name__}: {exc}")


def create(metric: MetricSpec, *, router: RouterStats | None = None, where: str = "") -> CloudWatchProvider:
    try:
        parse_queries(metric.query, metric.options)
    except Exception as exc:
        raise ConfigError(f"{where}.query: {exc}") from None
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise ConfigError(f"{where}: the cloudwatch provider needs boto3: pip install 'greenflag[aws]'") from None
    return CloudWatchProvider(metric.query, dict(metric.options))
