"""Data feeders: rows from a CSV or JSON file, loaded once and shared by every VU of the run.

    users = Feeder("data/users.csv")               # relative to the file that creates it
    row = users.for_vu(self.vu_id)                 # per-VU: the same row for a VU all run long
    row = users.next()                             # shared sequence: the next row, cycling at the end
    row = Feeder("data/coupons.json", unique=True).next()   # each row once; FeederExhausted after the last

Pure apart from reading the file (on first use, so a script that builds feeders at import stays cheap).

With several workers (`--workers`), each worker process loads the file itself, and the rows of the shared sequence
are partitioned: worker k of N hands out rows k, k+N, k+2N, … (before a random shuffle), so a `unique` feeder never
hands a row out twice across workers, and a cycling one uses every row once per round. `for_vu` and `random`
(without `unique`) draw from every row: VU numbers are unique across workers. The worker's place comes from the
`GREENFLAG_WORKER_INDEX` / `GREENFLAG_WORKER_COUNT` environment variables that greenflag sets in each worker.
"""

from __future__ import annotations

import csv
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

__all__ = ["Feeder", "FeederExhausted", "load_rows", "worker_partition"]

Row = dict[str, Any]


class FeederExhausted(LookupError):
    """A unique feeder has handed out every row."""


def load_rows(path: Path) -> list[Row]:
    """Rows of a CSV file (header line = column names) or a JSON file (a list of objects). ValueError if not."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise ValueError(f"{path}: expected a JSON list of objects")
        rows: list[Row] = data
    elif path.suffix.lower() in (".csv", ".tsv"):
        dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
        rows = [dict(row) for row in csv.DictReader(text.splitlines(), dialect=dialect)]
    else:
        raise ValueError(f"{path}: a feeder reads .csv, .tsv or .json files")
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def worker_partition() -> tuple[int, int]:
    """(index, count) of this process among the run's workers; (0, 1) outside a spread run."""
    try:
        index = int(os.environ.get("GREENFLAG_WORKER_INDEX", "0"))
        count = int(os.environ.get("GREENFLAG_WORKER_COUNT", "1"))
    except ValueError:
        return 0, 1
    return (index, count) if 0 <= index < count else (0, 1)


def _caller_dir(depth: int) -> Path | None:
    try:
        frame = sys._getframe(depth)
    except ValueError:  # pragma: no cover - not that deep
        return None
    file = frame.f_globals.get("__file__")
    return Path(file).resolve().parent if isinstance(file, str) else None


class Feeder:
    """Rows shared by all VUs. `order` is "sequential" (default) or "random"; `unique=True` hands each row out
    once (with sequential order)."""

    def __init__(
        self,
        path: str | Path,
        *,
        order: str = "sequential",
        unique: bool = False,
        base_dir: str | Path | None = None,
        seed: int | None = None,
        partition: tuple[int, int] | None = None,
    ) -> None:
        if order not in ("sequential", "random"):
            raise ValueError(f"Feeder order {order!r}: expected 'sequential' or 'random'")
        file = Path(path)
        if not file.is_absolute():
            anchor = Path(base_dir) if base_dir is not None else _caller_dir(2)
            file = (anchor / file) if anchor is not None else file
        self.path = file
        self.order = order
        self.unique = unique
        self.partition = worker_partition() if partition is None else partition
        self._rows: list[Row] | None = None
        self._mine: list[Row] | None = None
        self._position = 0
        self._random = random.Random(seed)

    @property
    def rows(self) -> list[Row]:
        """Every row of the file."""
        if self._rows is None:
            self._rows = load_rows(self.path)
        return self._rows

    @property
    def shared(self) -> list[Row]:
        """The rows this worker hands out with `next()`: its partition (every row in a single process)."""
        if self._mine is None:
            index, count = self.partition
            mine = self.rows[index::count]
            if not mine and not self.unique:
                mine = self.rows  # more workers than rows: a cycling feeder shares them all
            if self.unique and self.order == "random":
                mine = list(mine)
                self._random.shuffle(mine)
            self._mine = mine
        return self._mine

    def __len__(self) -> int:
        return len(self.rows)

    def for_vu(self, vu_id: int) -> Row:
        """The row of one VU (VU ids start at 1): row (vu_id - 1) mod the number of rows."""
        rows = self.rows
        return rows[(vu_id - 1) % len(rows)]

    def next(self) -> Row:
        """The next row of the shared sequence (or a random row); unique feeders raise FeederExhausted at the end."""
        if self.order == "random" and not self.unique:
            return self._random.choice(self.rows)
        rows = self.shared
        if self._position >= len(rows):
            if self.unique:
                where = f" (this worker's {len(rows)} of {len(self.rows)})" if self.partition[1] > 1 else ""
                raise FeederExhausted(f"{self.path}: all {len(rows)} rows were used{where} (unique=True)")
            self._position = 0
        row = rows[self._position]
        self._position += 1
        return row
