"""The local backend: workers as processes of this machine, each talking to the coordinator over its own socket
pair: length-prefixed pickle frames, read and written by asyncio on both sides, so that neither event loop ever
blocks on the other.

A worker is a fresh interpreter, `python -m greenflag.load.engine.local FD` (the same Python, the coordinator's
`sys.path` and working directory), not a fork: it has no copy of the coordinator's event loop, threads, signal
handlers or connections, and it works the same on Linux and macOS. Its first frames are the coordinator's
`sys.path` and its `Job` (a picklable function and the run's options); it loads the scenario file itself and
runs its part. Not `multiprocessing`: its spawn start method re-imports the parent's main module in every child,
so a script that calls greenflag's API without an `if __name__ == "__main__":` guard would run again in each
worker; a subprocess of greenflag's own module has no such trap, and its exit code (or signal) says how it ended.

A worker ignores SIGINT (Ctrl+C reaches the whole process group; the coordinator relays the stop), and stops at once
when its socket closes (the coordinator is gone): no worker outlives its run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import socket
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenflag.errors import GreenflagError
from greenflag.load.engine.links import WorkerDied, WorkerRefused
from greenflag.load.engine.runconfig import ScenarioRun, run_sync
from greenflag.load.engine.worker import WORKER_COUNT_ENV, WORKER_INDEX_ENV, Worker

__all__ = ["Job", "LocalLink", "describe_exit", "read_frame", "worker_main", "write_frame"]

_HEAD = 4


@dataclass
class Job:
    """What a worker needs: its place among the workers, and how to build the run's scenarios (`build(payload)`,
    a module-level function, pickled by reference)."""

    index: int
    count: int
    build: Callable[[Any], list[ScenarioRun]]
    payload: Any


def write_frame(writer: asyncio.StreamWriter, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    writer.write(len(data).to_bytes(_HEAD, "big") + data)


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next message; EOFError when the other side has closed."""
    try:
        size = int.from_bytes(await reader.readexactly(_HEAD), "big")
        return pickle.loads(await reader.readexactly(size))
    except asyncio.IncompleteReadError:
        raise EOFError from None


class _Stream:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, message: tuple[Any, ...]) -> None:
        if self.writer.is_closing():
            raise ConnectionError("the coordinator's socket is closed")
        write_frame(self.writer, message)
        await self.writer.drain()


def apply_worker_env(index: int, count: int) -> None:
    """What a scenario (and its feeders) can read to know its worker: set before the scenario file is loaded."""
    os.environ[WORKER_INDEX_ENV] = str(index)
    os.environ[WORKER_COUNT_ENV] = str(count)


def build_runs(job: Job) -> tuple[list[ScenarioRun] | None, tuple[Any, ...] | None]:
    """(runs, None), or (None, the refusal to report)."""
    apply_worker_env(job.index, job.count)
    try:
        return job.build(job.payload), None
    except GreenflagError as exc:
        return None, ("error", str(exc), int(exc.exit_code))
    except Exception:
        return None, ("error", traceback.format_exc(limit=8), 1)


async def _serve(job: Job, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    channel = _Stream(reader, writer)
    runs, refusal = build_runs(job)
    if runs is None:
        assert refusal is not None
        await channel.send(refusal)
        writer.close()
        return
    worker = Worker(runs, job.index, job.count)
    await channel.send(("ready", worker.describe()))
    try:
        first = await read_frame(reader)
    except EOFError:
        return
    if first[0] != "start":
        return

    async def listen() -> None:
        try:
            while True:
                worker.control(await read_frame(reader))
        except EOFError:
            worker.control(("lost",))

    listener = asyncio.ensure_future(listen())
    info = await worker.run(float(first[1]), channel)
    with contextlib.suppress(OSError, ConnectionError):
        await worker.settle()  # every delta acknowledged (sent again if need be), then the final report
        await channel.send(("done", info))
    listener.cancel()
    writer.close()


async def _receive_job(sock: socket.socket) -> tuple[Job, asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(sock=sock)
    sys.path[:] = await read_frame(reader)  # before the job is unpickled: its modules import as the coordinator's
    job: Job = await read_frame(reader)
    return job, reader, writer


def worker_main(fd: int) -> None:
    """A worker process's entry point: `python -m greenflag.load.engine.local FD`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the process group; the coordinator relays it
    sock = socket.socket(fileno=fd)

    async def main() -> None:
        job, reader, writer = await _receive_job(sock)
        await _serve(job, reader, writer)

    run_sync(main())


def _child_env() -> dict[str, str]:
    """The environment of a worker: this one, with this greenflag's directory first on PYTHONPATH, so that
    `-m greenflag.load.engine.local` starts the same greenflag as the coordinator's."""
    here = str(Path(__file__).resolve().parents[3])  # …/src: the directory holding the greenflag package
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([here, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))])
    return env


def describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with code {code}"


class LocalLink:
    """The coordinator's side of one worker process."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.name = f"worker {job.index + 1}"
        self.info: dict[str, Any] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        parent, child = socket.socketpair()
        command = [sys.executable, "-m", "greenflag.load.engine.local", str(child.fileno())]
        self.process = subprocess.Popen(command, pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, env=_child_env())
        child.close()
        self.info = {"pid": self.process.pid}
        self.reader, self.writer = await asyncio.open_connection(sock=parent)
        write_frame(self.writer, list(sys.path))
        write_frame(self.writer, self.job)
        try:
            message = await read_frame(self.reader)
        except EOFError:
            raise WorkerDied(await self._how_it_ended()) from None
        if message[0] == "error":
            raise WorkerRefused(str(message[1]), int(message[2]))
        self.info.update(message[1])

    async def start(self, epoch: float) -> None:
        await self.control(("start", epoch))

    async def control(self, message: tuple[Any, ...]) -> None:
        if self.writer is None or self.writer.is_closing():
            return
        write_frame(self.writer, message)
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    async def messages(self) -> AsyncIterator[tuple[Any, ...]]:
        assert self.reader is not None
        done = False
        while True:
            try:
                message = await read_frame(self.reader)
            except (EOFError, ConnectionError):
                if done:
                    return
                raise WorkerDied(await self._how_it_ended()) from None
            if message[0] == "done":
                done = True
            yield message

    async def _how_it_ended(self) -> str:
        process = self.process
        if process is None:
            return "did not start"
        await _exited(process, 1.0)  # its socket closed: the process is ending, give it a moment to be reaped
        return describe_exit(process.poll())

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        process = self.process
        if process is None:
            return
        if not await _exited(process, 5.0):
            process.kill()
            await _exited(process, 5.0)


async def _exited(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait (without blocking the event loop) until the process has ended and is reaped."""
    for _ in range(int(timeout / 0.02)):
        if process.poll() is not None:
            return True
        await asyncio.sleep(0.02)
    return process.poll() is not None


if __name__ == "__main__":
    worker_main(int(sys.argv[1]))
