"""`greenflag ops cloudwatch-alarms` against moto's CloudWatch server on 127.0.0.1 (never real AWS): the alarms
carry the right metrics, dimensions and thresholds, re-running updates them in place, --dry-run changes nothing,
--prune removes the service's stale alarms, and bad settings exit 2 with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.servers import moto_server
from tests.support import release_spec

ACCOUNT = "123456789012"
LISTENER = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
BLUE = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/shop-blue/73e2d6bc24d8a067"
GREEN = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/shop-green/2453ed029918f21f"
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def write_spec(path: Path, **analysis: Any) -> Path:
    path.write_text(yaml.safe_dump(release_spec(
        "shop",
        router={"kind": "alb", "region": "eu-west-1", "listener_arn": LISTENER,
                "target_groups": {"blue": BLUE, "green": GREEN}},
        analysis=analysis or {"metrics": [{"name": "e", "query": "error_rate", "failure_condition": "result > 0.02"}]},
    )))  # fmt: skip
    return path


def greenflag(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "greenflag", "ops", "cloudwatch-alarms", *args], cwd=cwd,
                          env={**os.environ, **ENV}, capture_output=True, text=True, timeout=120)  # fmt: skip


def alarms(endpoint: str) -> dict[str, dict[str, Any]]:
    import boto3

    client = boto3.client("cloudwatch", region_name="eu-west-1", endpoint_url=endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing")  # fmt: skip
    return {a["AlarmName"]: a for a in client.describe_alarms(AlarmNamePrefix="greenflag-shop-")["MetricAlarms"]}


def test_alarms_created_idempotent_and_pruned(moto: str, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "greenflag.yaml")
    dry = greenflag("-f", str(spec), "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    planned = [json.loads(line) for line in dry.stdout.splitlines()]
    assert [a["AlarmName"] for a in planned] == ["greenflag-shop-alb-5xx-rate", "greenflag-shop-blue-5xx-rate",
        "greenflag-shop-blue-p95", "greenflag-shop-green-5xx-rate", "greenflag-shop-green-p95",
        "greenflag-shop-rollbacks"]  # fmt: skip
    assert alarms(moto) == {}, "--dry-run created alarms"

    first = greenflag("-f", str(spec), "--endpoint-url", moto, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert [line.split() for line in first.stdout.splitlines()] == [["created", a["AlarmName"]] for a in planned]
    made = alarms(moto)
    assert set(made) == {a["AlarmName"] for a in planned}
    rate = made["greenflag-shop-green-5xx-rate"]
    assert rate["Threshold"] == 2.0 and rate["ComparisonOperator"] == "GreaterThanThreshold"  # 2 % from the spec
    assert rate["TreatMissingData"] == "notBreaching" and rate["EvaluationPeriods"] == 3
    queries = {q["Id"]: q for q in rate["Metrics"]}
    assert queries["e1"]["Expression"] == "100 * (FILL(m1, 0)) / total"
    stat = queries["m1"]["MetricStat"]
    assert stat["Metric"]["MetricName"] == "HTTPCode_Target_5XX_Count" and stat["Stat"] == "Sum"
    assert stat["Metric"]["Namespace"] == "AWS/ApplicationELB"
    dims = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
    assert dims == {"TargetGroup": "targetgroup/shop-green/2453ed029918f21f",
                    "LoadBalancer": "app/shop/50dc6c495c0c9188"}
    assert queries["total"]["MetricStat"]["Metric"]["MetricName"] == "RequestCount"
    lb = {q["Id"]: q for q in made["greenflag-shop-alb-5xx-rate"]["Metrics"]}
    assert lb["m1"]["MetricStat"]["Metric"]["MetricName"] == "HTTPCode_ELB_5XX_Count"
    assert [d["Name"] for d in lb["m1"]["MetricStat"]["Metric"]["Dimensions"]] == ["LoadBalancer"]
    p95 = made["greenflag-shop-blue-p95"]
    assert p95["MetricName"] == "TargetResponseTime" and p95["ExtendedStatistic"] == "p95" and p95["Threshold"] == 3.0
    rollbacks = made["greenflag-shop-rollbacks"]
    assert (rollbacks["Namespace"], rollbacks["MetricName"], rollbacks["Threshold"]) == ("Greenflag", "Rollbacks", 0)
    assert rollbacks["Dimensions"] == [{"Name": "Service", "Value": "shop"}]

    again = greenflag("-f", str(spec), "--endpoint-url", moto, "--error-rate", "0.5%", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert {line.split()[0] for line in again.stdout.splitlines()} == {"updated"}
    after = alarms(moto)
    assert set(after) == set(made)  # no duplicates
    assert after["greenflag-shop-green-5xx-rate"]["Threshold"] == 0.5

    # A backend no longer given (the override names blue only): --prune removes its alarms, this service's only.
    stale = greenflag("-f", str(spec), "--endpoint-url", moto, "--target-group", f"blue={BLUE}", "--prune",
                      cwd=tmp_path)  # fmt: skip
    assert stale.returncode == 0, stale.stderr
    assert "deleted  greenflag-shop-green-p95" in stale.stdout
    assert set(alarms(moto)) == set(made) - {"greenflag-shop-green-5xx-rate", "greenflag-shop-green-p95"}


@pytest.mark.parametrize(
    ("options", "args", "needle"),
    [({"region": "mars", "listener_arn": LISTENER, "target_groups": {"blue": BLUE}}, [],
      "router.region: expected an AWS region"),
     ({"region": "eu-west-1", "listener_arn": "arn:aws:nope", "target_groups": {"blue": BLUE}}, [],
      "router.listener_arn: expected an ALB"),
     ({"region": "eu-west-1", "listener_arn": LISTENER, "target_groups": {"blue": "x"}}, [],
      "router.target_groups.blue: expected a target group ARN"),
     (None, ["--region", "eu-west-1", "--listener-arn", LISTENER, "--target-group", "blue"], "--target-group 'blue'")],
)  # fmt: skip
def test_bad_settings_exit_2_with_one_line(tmp_path: Path, options: dict[str, Any] | None, args: list[str],
                                           needle: str) -> None:  # fmt: skip
    spec = tmp_path / "g.yaml"
    router = {} if options is None else {"router": {"kind": "alb", **options}}
    spec.write_text(yaml.safe_dump(release_spec("shop", **router)))
    result = greenflag("-f", str(spec), "--dry-run", *args, cwd=tmp_path)
    assert result.returncode == 2 and needle in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr


def test_overrides_stand_in_for_the_spec(tmp_path: Path) -> None:
    spec = tmp_path / "g.yaml"
    spec.write_text(yaml.safe_dump(release_spec("web")))
    result = greenflag("-f", str(spec), "--dry-run", "--region", "eu-west-1", "--listener-arn", LISTENER,
                       "--target-group", f"green={GREEN}", "--alarm-action", "arn:aws:sns:eu-west-1:1:x", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    planned = [json.loads(line) for line in result.stdout.splitlines()]
    assert {a["AlarmName"] for a in planned} == {"greenflag-web-alb-5xx-rate", "greenflag-web-green-5xx-rate",
                                                 "greenflag-web-green-p95", "greenflag-web-rollbacks"}
    assert all(a["AlarmActions"] == ["arn:aws:sns:eu-west-1:1:x"] and a["ActionsEnabled"] for a in planned)
    assert planned[1]["Threshold"] == 1.0  # greenflag's default 1 % without analysis limits
