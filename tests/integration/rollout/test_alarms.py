"""CloudWatch alarms as rollback triggers, polled by the rollout controller from moto's CloudWatch server on
127.0.0.1 (never real AWS; fake credentials). The controller runs on a FakeClock with the public fakes for the
router and the platform, so a rollout takes no wall time; the alarms are real moto alarms whose state the test sets
with SetAlarmState mid-rollout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from greenflag.rollout.controller import Controller
from greenflag.rollout.model import Phase, Status
from greenflag.rollout.store import Store
from greenflag.spec import Spec
from greenflag.testing import FakeClock, FakePlatform, FakeProbe, FakeRouter
from tests.servers import AWS_TEST_ENV, moto_server
from tests.support import free_port

PLATFORM = {"command": "app --port {port}"}  # every spec says how a version starts

pytestmark = pytest.mark.timeout(120)
TICK = 0.2


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in AWS_TEST_ENV.items():
            patch.setenv(key, value)
        with moto_server() as url:
            yield url


def cloudwatch(endpoint: str) -> Any:
    import boto3

    return boto3.client("cloudwatch", region_name="eu-west-1", endpoint_url=endpoint)


_count = iter(range(10_000))


@pytest.fixture
def alarms(endpoint: str) -> list[str]:
    """Two fresh metric alarms, both OK."""
    client = cloudwatch(endpoint)
    n = next(_count)
    names = [f"shop{n}-5xx", f"shop{n}-p95"]
    for name in names:
        client.put_metric_alarm(AlarmName=name, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
                                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
                                ComparisonOperator="GreaterThanThreshold")  # fmt: skip
        client.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="all good")
    return names


def make(tmp_path: Path, endpoint: str, names: list[str], **alarm_keys: Any) -> tuple[Controller, FakeRouter]:
    spec = Spec.model_validate({
        "service": "shop", "state_dir": str(tmp_path), "platform": PLATFORM,
        "strategy": {"canary": {"steps": [{"set_weight": 10}, {"pause": {"duration": "20s"}}, {"set_weight": 50}]}},
        "analysis": {"defaults": False, "alarms": {"names": names, "region": "eu-west-1", "endpoint_url": endpoint,
                                                    "interval": TICK, "timeout": 2, **alarm_keys}},
    })  # fmt: skip
    router, probe = FakeRouter(), FakeProbe()
    controller = Controller(spec, router=router, platform=FakePlatform(), store=Store(tmp_path / "state.db"),
                            clock=FakeClock(), tick_s=TICK, probes=lambda _: probe)  # fmt: skip
    return controller, router


async def to_the_pause(controller: Controller, router: FakeRouter) -> Status:
    controller.start("v1")
    await controller.run()
    controller.start("v2")
    for _ in range(500):
        status = await controller.tick()
        assert status is not None and not status.aborted, status.events[-1]
        if status.phase is Phase.PAUSED:
            assert router.weights == {"v1": 90, "v2": 10}
            return status
        controller.clock.advance(TICK)  # type: ignore[attr-defined]
    raise AssertionError("not paused after 500 ticks")


async def ticks_to_rollback(controller: Controller, limit: int = 3) -> tuple[int, Status]:
    for n in range(1, limit + 1):
        controller.clock.advance(TICK)  # type: ignore[attr-defined]
        status = await controller.tick()
        assert status is not None
        if status.aborted:
            return n, status
    raise AssertionError(f"no rollback within {limit} ticks")


async def test_an_alarm_in_alarm_mid_rollout_rolls_back_within_two_ticks(tmp_path: Path, endpoint: str,
                                                                         alarms: list[str]) -> None:  # fmt: skip
    controller, router = make(tmp_path, endpoint, alarms)
    await to_the_pause(controller, router)
    reason = "Threshold Crossed: 1 datapoint [7.0 (01/01/26 00:00:00)] was greater than the threshold (1.0)."
    cloudwatch(endpoint).set_alarm_state(AlarmName=alarms[1], StateValue="ALARM", StateReason=reason)
    ticks, status = await ticks_to_rollback(controller)
    assert ticks <= 2 and router.weights == {"v1": 100, "v2": 0}
    rollback = next(e for e in status.events if e.kind == "rollback")
    assert rollback.trigger == f"alarm {alarms[1]}" and rollback.limit == "not ALARM"
    assert rollback.value["state"] == "ALARM" and rollback.value["reason"] == reason
    assert rollback.value["since"].endswith("Z") and f"{alarms[1]} is in ALARM since" in rollback.message
    final = await controller.run()
    assert final.phase is Phase.ROLLED_BACK and final.stable == "v1"


async def test_ok_alarms_let_it_promote_and_insufficient_data_is_ignored(tmp_path: Path, endpoint: str,
                                                                         alarms: list[str]) -> None:  # fmt: skip
    controller, router = make(tmp_path, endpoint, alarms)
    await to_the_pause(controller, router)
    cloudwatch(endpoint).set_alarm_state(AlarmName=alarms[0], StateValue="INSUFFICIENT_DATA", StateReason="no data")
    final = await controller.run()
    assert final.phase is Phase.HEALTHY and final.stable == "v2" and router.weights == {"v2": 100}


async def test_insufficient_data_rolls_back_when_configured(tmp_path: Path, endpoint: str, alarms: list[str]) -> None:
    controller, router = make(tmp_path, endpoint, alarms, on_insufficient_data="rollback")
    await to_the_pause(controller, router)
    cloudwatch(endpoint).set_alarm_state(AlarmName=alarms[0], StateValue="INSUFFICIENT_DATA", StateReason="no data")
    _, status = await ticks_to_rollback(controller)
    assert next(e for e in status.events if e.kind == "rollback").trigger == f"alarm {alarms[0]}"


@pytest.mark.parametrize("ignore", [False, True])
async def test_alarms_that_cannot_be_read(tmp_path: Path, endpoint: str, alarms: list[str], ignore: bool) -> None:
    """A listed alarm that does not exist, and CloudWatch unreachable: rolled back, unless ignore_poll_failure."""
    controller, router = make(tmp_path, endpoint, [*alarms, "nobody-made-this"], ignore_poll_failure=ignore)
    controller.start("v1")
    first = await controller.run()
    if not ignore:  # refused before the first version took any traffic
        rollback = next(e for e in first.events if e.kind == "rollback")
        assert rollback.trigger == "alarms" and "no such alarm: nobody-made-this" in rollback.message
        assert first.phase is Phase.ROLLED_BACK and router.weights.get("v1", 0) == 0
        return
    assert first.phase is Phase.HEALTHY
    down, router = make(tmp_path / "down", f"http://127.0.0.1:{free_port()}", alarms, ignore_poll_failure=True)
    down.start("v1")
    assert (await down.run()).phase is Phase.HEALTHY
