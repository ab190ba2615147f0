"""Data feeders: rows from a CSV or JSON file, loaded once and shared by every VU of the run.

    users = Feeder("data/users.csv")               # relative to the file that creates it
    row = users.for_vu(self.vu_id)                 # per-VU: the same row for a VU all run long
    row = users.next()                             # shared sequence: the next row, cycling at the end
    row = Feeder("data/coupons.json", unique=True).next()   # each row once; FeederExhausted after the last

Pure apart from reading the file (on first use, so a script that builds feeders at import stays cheap).
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path
from typing import Any

__all__ = ["Feeder", "FeederExhausted", "load_rows"]

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
        self._rows: list[Row] | None = None
        self._position = 0
        self._random = random.Random(seed)

    @property
    def rows(self) -> list[Row]:
        if self._rows is None:
            self._rows = load_rows(self.path)
            if self.unique and self.order == "random":
                self._random.shuffle(self._rows)
        return self._rows

    def __len__(self) -> int:
        return len(self.rows)

    def for_vu(self, vu_id: int) -> Row:
        """The row of one VU (VU ids start at 1): row (vu_id - 1) mod the number of rows."""
        rows = self.rows
        return rows[(vu_id - 1) % len(rows)]

    def next(self) -> Row:
        """The next row of the shared sequence (or a random row); unique feeders raise FeederExhausted at the end."""
        rows = self.rows
        if self.order == "random" and not self.unique:
            return self._random.choice(rows)
        if self._position >= len(rows):
            if self.unique:
                raise FeederExhausted(f"{self.path}: all {len(rows)} rows were used (unique=True)")
            self._position = 0
        row = rows[self._position]
        self._position += 1
        return row
