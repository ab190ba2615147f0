"""CloudWatch alarms as rollback triggers (pure): CodeDeploy's semantics, decided from one poll of the alarms' state.

- Any listed alarm in `ALARM` rolls the rollout back; the trigger names the alarm, its state reason and since when.
- `INSUFFICIENT_DATA` does not (as CodeDeploy), unless `on_insufficient_data: rollback`.
- A poll that failed, or that does not find a listed alarm, rolls back unless `ignore_poll_failure: true`
  (CodeDeploy's `ignorePollAlarmFailure`, false by default: "the deployment stops if alarm status information
  can't be retrieved").

The poll itself (DescribeAlarms) is `greenflag.analysis.providers.cloudwatch_alarms`; when to poll is the
rollout's (`greenflag.rollout.alarm_watch`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from greenflag.spec import AlarmsSpec

__all__ = ["AlarmPoll", "AlarmState", "AlarmTrigger", "alarm_trigger"]
__pure__ = True


@dataclass(frozen=True)
class AlarmState:
    name: str
    state: str  # OK | ALARM | INSUFFICIENT_DATA
    reason: str = ""  # CloudWatch's StateReason: "Threshold Crossed: 2 out of the last 3 datapoints ..."
    updated_at: float | None = None  # StateUpdatedTimestamp (epoch seconds)


@dataclass(frozen=True)
class AlarmPoll:
    """One look at the alarms: their states, or why they could not be read."""

    at: float  # wall-clock epoch of the poll
    states: tuple[AlarmState, ...] = field(default_factory=tuple)
    error: str | None = None


@dataclass(frozen=True)
class AlarmTrigger:
    """Why the rollout rolls back, in the shape of a rollback event."""

    message: str
    trigger: str  # "alarm NAME", or "alarms" for a poll failure
    value: Any
    limit: str


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def alarm_trigger(spec: AlarmsSpec, poll: AlarmPoll) -> AlarmTrigger | None:
    """The first reason in `poll` to roll back (alarms in the order the spec lists them), or None."""
    problem = poll.error
    if problem is None:
        found = {s.name for s in poll.states}
        missing = [n for n in spec.names if n not in found]
        if missing:
            problem = f"no such alarm: {', '.join(missing)}"
    if problem is not None:
        if spec.ignore_poll_failure:
            return None
        return AlarmTrigger(f"cannot read the state of the CloudWatch alarms ({problem})", "alarms", problem,
                            "alarm states readable (ignore_poll_failure: false)")  # fmt: skip
    by_name = {s.name: s for s in poll.states}
    bad = {"ALARM"} | ({"INSUFFICIENT_DATA"} if spec.on_insufficient_data == "rollback" else set())
    for name in spec.names:
        alarm = by_name[name]
        if alarm.state in bad:
            since = _iso(alarm.updated_at)
            value = {"state": alarm.state, "reason": alarm.reason, "since": since}
            when = f" since {since}" if since else ""
            return AlarmTrigger(f"CloudWatch alarm {name} is in {alarm.state}{when}: {alarm.reason}",
                                f"alarm {name}", value, "not " + " or ".join(sorted(bad)))  # fmt: skip
    return None
