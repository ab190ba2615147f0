"""The Ray backend (`--backend ray [--address auto|ray://HOST:PORT]`): the workers are Ray actors, one CPU each,
placed by Ray on any node of the cluster; this process coordinates them exactly as it does local workers.

Ray is imported only here, and only when the backend is chosen (`pip install 'greenflag[ray]'`). Without an
address a Ray instance of this machine is started (or the one this process already started is used). With an
address, the scenario file's directory is shipped to the cluster as the job's working directory, so workers on
other machines load the same file and its data; greenflag itself must be installed on the cluster's nodes.

An actor is asynchronous: the worker's event loop is the actor's, its `run` goes on while the coordinator calls
`poll(acked)` every half second, which acknowledges what was applied and returns the deltas still unacknowledged
(so a lost reply costs nothing: they come again).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from greenflag.errors import UsageError
from greenflag.load.engine.links import Link, WorkerDied, WorkerRefused
from greenflag.load.engine.local import Job, build_runs
from greenflag.load.engine.runconfig import RunConfig
from greenflag.load.engine.worker import Worker

__all__ = ["RayWorker", "cluster_cpus", "connect", "ray_links"]

POLL_S = 0.5
CALL_TIMEOUT_S = 20.0  # one poll; three in a row timing out: the worker is unreachable
INSTALL = "pip install 'greenflag[ray]'"


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(f"--backend ray: Ray is not installed here ({INSTALL})") from None
    return ray


def connect(address: str | None, ship_dir: str | None = None) -> Any:
    """The `ray` module, connected: to `address` (auto, ray://HOST:PORT), else to a Ray instance of this machine
    (started now unless this process already did)."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address is None:
        options["_node_ip_address"] = "127.0.0.1"  # a local instance listens on loopback only
    else:
        options["address"] = address
        if ship_dir is not None:
            options["runtime_env"] = {"working_dir": ship_dir, "excludes": [".git", "__pycache__", "*.pyc"]}
    try:
        ray.init(**options)
    except Exception as exc:
        where = address or "a local Ray instance"
        raise UsageError(f"--backend ray: cannot connect to {where}: {type(exc).__name__}: {exc}") from None
    return ray


def cluster_cpus(address: str | None, ship_dir: str | None = None) -> int:
    """CPUs of the Ray cluster (for `--workers auto`)."""
    ray = connect(address, ship_dir)
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


class RayWorker:
    """The actor (wrapped with `ray.remote` when the backend is used)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.worker: Worker | None = None

    async def prepare(self) -> tuple[Any, ...]:
        runs, refusal = build_runs(self.job)
        if runs is None:
            assert refusal is not None
            return refusal
        self.worker = Worker(runs, self.job.index, self.job.count)
        return ("ready", self.worker.describe())

    async def run(self, epoch: float) -> dict[str, Any]:
        assert self.worker is not None
        return await self.worker.run(epoch, None)

    async def poll(self, acked: int) -> list[tuple[int, Any]]:
        assert self.worker is not None
        self.worker.control(("ack", acked))
        return self.worker.outbox.unacked()

    async def control(self, message: tuple[Any, ...]) -> None:
        if self.worker is not None:
            self.worker.control(message)


class RayLink:
    def __init__(self, ray: Any, actor_class: Any, job: Job, run_id: str) -> None:
        self.ray = ray
        self.name = f"worker {job.index + 1}"
        self.actor = actor_class.options(name=f"greenflag-{run_id}-worker-{job.index + 1}").remote(job)
        self.info: dict[str, Any] = {}
        self.acked = 0
        self.run_ref: Any = None

    async def _call(self, ref: Any, timeout: float = CALL_TIMEOUT_S) -> Any:
        try:
            return await asyncio.wait_for(asyncio.wrap_future(ref.future()), timeout=timeout)
        except self.ray.exceptions.RayActorError as exc:
            raise WorkerDied(f"died (Ray: {_first_line(exc)})") from None

    async def open(self) -> None:
        message = await self._call(self.actor.prepare.remote(), timeout=300.0)
        if message[0] == "error":
            raise WorkerRefused(str(message[1]), int(message[2]))
        self.info = dict(message[1])

    async def start(self, epoch: float) -> None:
        self.run_ref = self.actor.run.remote(epoch)

    async def control(self, message: tuple[Any, ...]) -> None:
        if message[0] == "ack":
            self.acked = max(self.acked, int(message[1]))
            return
        with contextlib.suppress(Exception):
            await self._call(self.actor.control.remote(message), timeout=5.0)

    async def messages(self) -> AsyncIterator[tuple[Any, ...]]:
        failures = 0
        while True:
            finished, _ = self.ray.wait([self.run_ref], timeout=0)
            try:
                pending = await self._call(self.actor.poll.remote(self.acked))
                failures = 0
            except TimeoutError:
                failures += 1
                if failures >= 3:
                    raise WorkerDied(f"did not answer for {3 * CALL_TIMEOUT_S:.0f} s (Ray actor)") from None
                continue
            for seq, payload in pending:
                yield ("delta", seq, payload)
            if finished:
                info = await self._call(self.run_ref)
                if self.acked >= int(info["last_seq"]):
                    yield ("done", info)
                    return
            await asyncio.sleep(POLL_S)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ray.kill(self.actor)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def ray_links(config: RunConfig) -> list[Link]:
    distribution = config.distribution
    if distribution.build is None:
        raise ValueError("the Ray backend needs Distribution.build (greenflag.load.run.prepare sets it)")
    ray = connect(distribution.address, distribution.ship_dir)
    actor_class = ray.remote(num_cpus=1, max_concurrency=64)(RayWorker)
    count, build, payload = distribution.workers, distribution.build, distribution.payload
    run_id = uuid.uuid4().hex[:8]  # actor names: greenflag-RUN-worker-N, for `ray list actors` and `ray.get_actor`
    return [RayLink(ray, actor_class, Job(index, count, build, payload), run_id) for index in range(count)]
