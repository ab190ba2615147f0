"""A rollout spec with analysis steps, and a rollout of it walked to its first step, for the analysis tests."""

from __future__ import annotations

from typing import Any

from greenflag.rollout.model import Observations, Status
from greenflag.rollout.steps import decide, new_status
from greenflag.spec import Spec

__all__ = ["STEPS", "T0", "UP", "USER", "make_spec", "walk"]

T0 = 1_000_000.0
USER = [
    {"name": "a", "query": "error_rate", "failure_condition": "result > 0.5"},
    {"name": "b", "query": "p95_ms", "failure_condition": "result > 100"},
]
STEPS = [{"set_weight": 10}, {"pause": {"duration": "5s"}}, {"analysis": {"duration": "5s", "metrics": ["a"]}},
         {"set_weight": 50}, {"pause": {"duration": "5s"}}]  # fmt: skip


def make_spec(steps: list[Any] = STEPS, **analysis: Any) -> Spec:
    data = {
        "service": "svc",
        "platform": {"command": "app --port {port}"},
        "strategy": {"canary": {"steps": steps}},
        "analysis": {"metrics": USER, **analysis},
    }
    return Spec.model_validate(data)


UP = Observations(launched=frozenset({"v1", "v2"}))


def walk(spec: Spec) -> Status:
    """A rollout of v2 (stable v1) driven to step 0, where the canary first gets traffic."""
    status = new_status(spec, 1, "v2", "v1", T0)
    status.stage, status.stage_started_at = "step:0", T0
    new, _ = decide(spec, status, UP, T0)
    return new
