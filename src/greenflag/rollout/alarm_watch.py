"""Polling the CloudWatch alarms of `analysis.alarms` while a rollout is in flight (I/O; the decision is pure:
`greenflag.analysis.alarms.alarm_trigger`, called by `rollout.steps.decide`).

The alarms are polled from the rollout's first tick until it is promoted or rolled back, every
`analysis.alarms.interval` (10 s by default); between polls the controller observes no new poll. A tick waits at
most `WAIT_S` for a poll: a slow or unreachable CloudWatch leaves it running and it is observed on a later tick (a
rollback from other triggers is never held up by it). A failed poll is logged; whether it rolls back is the
decision's (`ignore_poll_failure`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from greenflag.analysis.alarms import AlarmPoll
from greenflag.analysis.providers.cloudwatch_alarms import CloudWatchAlarms, require_boto3
from greenflag.clock import Clock
from greenflag.rollout.model import Status
from greenflag.spec import AlbRouterSpec, Spec

__all__ = ["AlarmWatch"]

log = logging.getLogger(__name__)

WAIT_S = 0.5  # the longest a tick waits for a poll it started


class AlarmWatch:
    def __init__(self, spec: Spec, clock: Clock) -> None:
        self.spec = spec.analysis.alarms
        self.clock = clock
        self._source: CloudWatchAlarms | None = None
        self._due = 0.0
        self._task: asyncio.Task[AlarmPoll] | None = None
        if self.spec is not None:
            require_boto3(f"{spec.source or 'greenflag.yaml'}: analysis.alarms")
            region = self.spec.region
            if region is None and isinstance(spec.router, AlbRouterSpec):
                region = spec.router.region
            self._source = CloudWatchAlarms(region=region, endpoint_url=self.spec.endpoint_url,
                                            timeout=self.spec.timeout)  # fmt: skip

    async def poll(self, status: Status) -> AlarmPoll | None:
        """A fresh poll when one is due for a rollout in flight; None otherwise."""
        if self.spec is None or self._source is None or status.aborted or status.terminal:
            return None
        now = self.clock.monotonic()
        if self._task is None and now >= self._due:
            self._due = now + self.spec.interval
            self._task = asyncio.ensure_future(self._source.poll(self.spec.names))
        if self._task is None:
            return None
        done, _ = await asyncio.wait({self._task}, timeout=WAIT_S)
        if not done:
            return None
        result, self._task = self._task.result(), None
        if result.error is not None:
            log.warning("CloudWatch alarms %s: %s", ", ".join(self.spec.names), result.error)
        return result

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()  # the thread finishes its call on its own
            with contextlib.suppress(BaseException):
                self._task.exception()
            self._task = None
        if self._source is not None:
            self._source.close()
