"""Gates with Kubernetes semantics (pure)."""

from __future__ import annotations

import pytest

from greenflag.health.base import ProbeResult
from greenflag.health.gate import Gate, GateStatus
from greenflag.spec import ProbeSpec

OK, BAD = ProbeResult(True, 0.01), ProbeResult(False, 0.01, "HTTP 503")
P, F, N = GateStatus.PASSING, GateStatus.FAILING, GateStatus.PENDING


@pytest.mark.parametrize(
    ("success_threshold", "failure_threshold", "results", "statuses"),
    [
        (1, 3, [OK], [P]),
        (2, 3, [OK, OK], [N, P]),
        (2, 3, [OK, BAD, OK, OK], [N, N, N, P]),  # successes must be consecutive
        (1, 3, [BAD, BAD, BAD], [N, N, F]),
        (1, 3, [OK, BAD, BAD, OK, BAD, BAD, BAD], [P, P, P, P, P, P, F]),  # a passing gate tolerates blips
        (3, 1, [BAD, OK, OK, OK], [F, F, F, P]),  # a failed gate needs the full success streak to recover
    ],
)
def test_thresholds(
    success_threshold: int, failure_threshold: int, results: list[ProbeResult], statuses: list[GateStatus]
) -> None:
    gate = Gate(0.0, success_threshold=success_threshold, failure_threshold=failure_threshold)
    seen = []
    for i, result in enumerate(results):
        gate = gate.observe(result, float(i))
        seen.append(gate.status)
    assert seen == statuses
    assert gate.checks == len(results) and gate.last == results[-1]


def test_schedule_initial_delay_then_interval() -> None:
    spec = ProbeSpec(http="/healthz", initial_delay=5.0, interval=2.0)
    gate = Gate.from_spec(spec, 100.0)
    assert gate.next_due() == 105.0 and not gate.due(104.9) and gate.due(105.0)
    gate = gate.observe(OK, 105.2)
    assert gate.next_due() == pytest.approx(107.2)
    assert gate.passing and gate.changed_at == 105.2
    assert "Passing after 1 checks" in gate.describe()
