"""The cloudwatch provider against moto's server (a real AWS API server on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from greenflag.analysis.providers.cloudwatch import CloudWatchProvider
from greenflag.analysis.providers.registry import create_provider
from greenflag.analysis.run import AnalysisRun
from greenflag.analysis.verdicts import Verdict
from greenflag.errors import ConfigError
from greenflag.spec import AnalysisSpec, MetricSpec
from greenflag.testing import FakeClock
from tests.servers import AWS_TEST_ENV, moto_server
from tests.support import free_port


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    with moto_server() as endpoint:
        yield endpoint


def put(endpoint: str, values: list[float]) -> None:
    import boto3

    client = boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=endpoint)
    now = dt.datetime.now(dt.UTC)
    client.put_metric_data(
        Namespace="Greenflag/Test",
        MetricData=[
            {
                "MetricName": "Errors",
                "Dimensions": [{"Name": "Backend", "Value": "green"}],
                "Value": v,
                "Timestamp": now - dt.timedelta(seconds=30),
            }
            for v in values
        ],
    )


@pytest.mark.timeout(60)
async def test_cloudwatch_get_metric_data(moto: str) -> None:
    put(moto, [3.0, 5.0])
    options = {"endpoint_url": moto, "region": "us-east-1", "dimensions": {"Backend": "{{backend}}"},
               "stat": "Sum", "period": 300}  # fmt: skip
    metric = MetricSpec(name="errors", provider="cloudwatch", query="Greenflag/Test:Errors", options=options)
    provider = create_provider(metric, where="analysis.metrics[0]")
    assert isinstance(provider, CloudWatchProvider)
    obs = await provider.query("Greenflag/Test:Errors", backend="green", window_s=120)
    assert obs.ok and obs.value and sum(obs.value) == 8.0
    listed = (
        '[{"Id": "e", "MetricStat": {"Metric": {"Namespace": "Greenflag/Test", "MetricName": "Errors",'
        ' "Dimensions": [{"Name": "Backend", "Value": "{{backend}}"}]}, "Period": 300, "Stat": "Maximum"}}]'
    )
    obs = await provider.query(listed, backend="green", window_s=120)
    assert obs.ok and obs.value and max(obs.value) == 5.0
    spec = AnalysisSpec.model_validate({"defaults": False, "metrics": [
        {"name": "errors", "provider": "cloudwatch", "query": "Greenflag/Test:Errors", "options": options,
         "failure_condition": "result[0] > 2"}]})  # fmt: skip
    session = AnalysisRun(spec, {"errors": provider}, "green", None, FakeClock())
    assert await session.run(5.0) is Verdict.FAILED
    assert "errors = [8] meets failure condition result[0] > 2" in (session.reason() or "")


async def test_cloudwatch_failures_are_error_observations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    provider = CloudWatchProvider("Ns:M", {"endpoint_url": f"http://127.0.0.1:{free_port()}"})
    obs = await provider.query("Ns:M", backend="b", window_s=60)
    assert not obs.ok and "cloudwatch" in str(obs.error)
    with pytest.raises(ConfigError, match=r"analysis.metrics\[0\].query"):
        create_provider(MetricSpec(name="m", provider="cloudwatch", query="no-colon"), where="analysis.metrics[0]")
