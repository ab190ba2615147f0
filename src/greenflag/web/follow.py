"""`greenflag dashboard` without a run in this process: follow time-series files as another process writes them
(`load run --out`), and a rollout's status (through a running `greenflag up`, else from the journal), and feed
them to a Dashboard until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from greenflag.load.metrics.intervals import SCHEMA_VERSION
from greenflag.report.outputs import Outputs

__all__ = ["SeriesTail", "follow", "status_reader"]


class SeriesTail:
    """New complete lines of a JSONL file that another process appends to (it may not exist yet, or be rewritten
    from the start by a new run)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def read(self) -> list[dict[str, Any]]:
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self.offset:  # truncated: a new run writes it again
            self.offset, self.partial = 0, b""
        if size == self.offset:
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read(size - self.offset)
        self.offset += len(data)
        chunks = (self.partial + data).split(b"\n")
        self.partial = chunks.pop()
        lines = []
        for chunk in chunks:
            try:
                line = json.loads(chunk)
            except ValueError:
                continue  # not a series line: skipped, the dashboard shows what it can
            if isinstance(line, dict) and line.get("v") == SCHEMA_VERSION and "t" in line:
                lines.append(line)
        return lines


def status_reader(spec_file: Path) -> Callable[[], dict[str, Any] | None]:
    """The latest rollout status of the spec's service: from `greenflag up`'s API when it runs, else the journal."""
    from greenflag.config import load_spec
    from greenflag.rollout.ops import status_json
    from greenflag.rollout.runtime import read_up_info, resolve_paths, token_path
    from greenflag.rollout.store import Store

    spec = resolve_paths(load_spec(spec_file))
    store: list[Store] = []

    def read() -> dict[str, Any] | None:
        info = read_up_info(spec)
        if info is not None:
            from greenflag.rollout.api import ApiClient
            from greenflag.traffic.embedded.admin_token import read_token

            data: dict[str, Any] = ApiClient(str(info["api"]), read_token(token_path(spec))).call("GET", "/api/status")
        else:
            if not store:
                store.append(Store.for_state_dir(spec.state_dir))
            data = status_json(store[0].latest(spec.service))
        return data if data.get("phase") is not None else None

    return read


async def follow(
    outputs: Outputs,
    tails: list[SeriesTail],
    read_status: Callable[[], dict[str, Any] | None] | None,
    stop: asyncio.Event,
    *,
    every_s: float = 0.5,
) -> None:
    """Poll the files and the status every `every_s` until `stop` is set."""
    while not stop.is_set():
        for tail in tails:
            for line in tail.read():
                outputs.add_line(line)
        if read_status is not None:
            try:
                status = await asyncio.to_thread(read_status)
            except Exception:  # up restarting, journal busy: try again next time
                status = None
            if status is not None:
                outputs.on_status(status)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
