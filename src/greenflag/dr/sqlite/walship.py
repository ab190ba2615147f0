"""WAL shipping for SQLite (`protection.method: wal`): a base backup, then the committed frames of the live
database's write-ahead log copied every `interval`; restore = the base + the shipped logs replayed by SQLite.

The archive (`ARCHIVE/gen-NNNNNN/`) holds generations. Each starts with `base.db` (one online backup, a
consistent snapshot) and has `wal-NNNNNN.wal` files: one per log SQLite wrote from that base on (the log is
restarted after each checkpoint), each a valid WAL file — the log's own header, then its frames through the last
committed transaction seen, appended as they are shipped. Only frames that `walframes.scan` finds valid (salts
and running checksum) up to a commit frame are shipped, so a frame torn or a transaction uncommitted at the fault
is never in the archive.

Continuity: the log is read at the frame after the last one shipped. When the log has been restarted, the old
log's remaining frames are shipped first when they are provably intact — the new log is exactly one restart on,
has not reached them, and a frame of another log (or the old end of the file) follows them; otherwise, and when
the log was truncated, frames may have gone unshipped, so a new generation starts with a new base backup (never a
silent gap). A restore uses the newest generation: copy `base.db`, then for each log in order copy it next to the
database as `-wal`, open it (SQLite recovers the committed frames with valid checksums) and checkpoint — up to the
first gap in the archive (a log missing between two, or one that does not check out whole: `archive_chain`), where
the restore stops, as PostgreSQL's does, instead of replaying later logs onto pages that miss the frames between.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenflag.dr.sqlite.walframes import (
    FRAME_HEADER,
    HEADER,
    Header,
    WalFormatError,
    frame_offset,
    next_restart,
    parse_header,
    scan,
)

BASE_LOG = "base.wal-header"  # in a generation: the header of the log current when its base was taken

__all__ = ["Chain", "ShipStats", "WalShipper", "archive_chain", "online_backup", "restore_wal"]


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{urllib.parse.quote(str(path.absolute()))}?mode=ro", uri=True, timeout=10.0)


def online_backup(source: Path, target: Path) -> int:
    """One online backup (the sqlite3 backup API, one step: a consistent snapshot) into `target`, atomically."""
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    src = _ro(source)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(tmp, target)
    return target.stat().st_size


def _read(path: Path, offset: int = 0, size: int = -1) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(size)


def _header(wal: Path) -> Header | None:
    """The log's header, or None while there is no log (or it is being written)."""
    try:
        return parse_header(_read(wal, 0, HEADER))
    except (FileNotFoundError, WalFormatError):
        return None


@dataclass
class ShipStats:
    generations: int = 0  # base backups taken (the first, and one per continuity break)
    logs: int = 0  # WAL files shipped (restarts followed)
    frames: int = 0
    transactions: int = 0
    bytes: int = 0
    polls: int = 0
    breaks: list[str] = field(default_factory=list)  # why a new generation was started
    last_commit_at: float | None = None  # wall time of the poll that shipped the newest transaction

    def to_json(self) -> dict[str, Any]:
        return {"generations": self.generations, "logs": self.logs, "frames": self.frames,
                "transactions": self.transactions, "bytes": self.bytes, "polls": self.polls,
                "breaks": self.breaks[-5:]}  # fmt: skip


class WalShipper:
    """Ships a live database's committed WAL frames into `archive`. `start()` once, then `poll()` (blocking file
    I/O: call it from a thread) every interval; it never writes to the database."""

    def __init__(self, db: Path, archive: Path) -> None:
        self.db, self.wal, self.archive = db, Path(f"{db}-wal"), archive
        self.stats = ShipStats()
        self.gen: Path | None = None
        self.header: Header | None = None  # the log being shipped (None: no log yet since the base)
        self.segment: Path | None = None
        self.copied = 0  # frames of that log shipped
        self.running: tuple[int, int] | None = None  # the running checksum after them
        self.seen_size = 0  # the largest the log file has been (a smaller one was truncated)

    def start(self) -> None:
        self._generation("first base backup")

    def _generation(self, why: str) -> None:
        """A new base backup, consistent with the log it is shipped with: the log's header read before and after
        the backup must agree (a restart in between could hide frames; then take it again)."""
        self.stats.generations += 1
        if self.stats.generations > 1:
            self.stats.breaks.append(why)
        self.gen = self.archive / f"gen-{self.stats.generations:06d}"
        self.gen.mkdir(parents=True, exist_ok=True)
        for _ in range(20):
            before = _header(self.wal)
            online_backup(self.db, self.gen / "base.db")
            after = _header(self.wal)
            if before == after:
                break
        else:
            raise OSError(f"{self.wal}: the log was restarted during each of 20 base backups")
        self.segment = None
        self.seen_size = 0
        if after is not None:  # the log the base goes with: the restore checks that its chain starts there
            (self.gen / BASE_LOG).write_bytes(after.raw)
        self._follow(after)

    def _follow(self, header: Header | None) -> None:
        """Ship `header`'s log from its first frame, into a new WAL file of the generation."""
        self.header, self.copied, self.running = header, 0, None
        if header is None:
            return
        assert self.gen is not None
        self.stats.logs += 1
        self.segment = self.gen / f"wal-{self.stats.logs:06d}.wal"
        with open(self.segment, "wb") as f:
            f.write(header.raw)
            f.flush()
            os.fsync(f.fileno())

    def _ship(self, header: Header, data: bytes) -> int:
        """Append the committed frames at the start of `data` (the log from frame `copied` on); transactions shipped."""
        result = scan(header, data, self.running)
        if not result.committed:
            return 0
        if not self.wal.exists():  # gone while it was read (the fault): what was read may postdate the loss
            raise FileNotFoundError(f"{self.wal}: the log is gone")
        size = result.committed * (FRAME_HEADER + header.page_size)
        assert self.segment is not None
        with open(self.segment, "ab") as f:
            f.write(data[:size])
            f.flush()
            os.fsync(f.fileno())
        self.copied += result.committed
        self.running = result.checksum
        self.stats.frames += result.committed
        self.stats.transactions += result.transactions
        self.stats.bytes += size
        self.stats.last_commit_at = time.time()
        return result.transactions

    def poll(self) -> int:
        """Ship what was committed since the last poll; the number of transactions shipped. Raises OSError when
        the database's log cannot be read (it is gone: the fault)."""
        self.stats.polls += 1
        if not self.db.exists():
            raise FileNotFoundError(f"{self.db}: the database is gone")
        header = _header(self.wal)
        if header is None:
            return 0
        if self.header is None:  # no log at the base backup: this one began after it
            self._follow(header)
        assert self.header is not None
        if header.salts == self.header.salts:
            return self._ship(header, self._rest())
        return self._restarted(header)

    def _rest(self) -> bytes:
        assert self.header is not None
        data = _read(self.wal, frame_offset(self.copied, self.header.page_size))
        self.seen_size = max(self.seen_size, frame_offset(self.copied, self.header.page_size) + len(data))
        return data

    def _restarted(self, new: Header) -> int:
        """The log was restarted since the last poll: finish the old one if it is provably intact, then follow the
        new one (or start a new generation)."""
        old = self.header
        assert old is not None
        size = self.wal.stat().st_size
        tail = _read(self.wal, frame_offset(self.copied, old.page_size))  # the old log from the first frame not shipped
        region = _read(self.wal, HEADER, frame_offset(self.copied, new.page_size) - HEADER)
        still = _header(self.wal) == new  # no other restart before `region` was read: it shows how far `new` got
        # frames of `new` grow in order: read after `tail`, `region` shows at least what `new` had written by then
        # (+ 1 for a frame being written), so `tail` was not overwritten when new stayed short of it
        reached = scan(new, region).valid + 1 if still else self.copied + 1
        left = scan(old, tail, self.running)
        ended = left.stop == "salt" or (left.stop == "end" and size >= self.seen_size)  # a truncated log proves nothing
        if not next_restart(old, new) or reached > self.copied or not ended:
            why = ("the log was restarted more than once between two polls" if not next_restart(old, new) else
                   "the new log overwrote frames not shipped yet" if reached > self.copied else
                   f"the old log's end is not proven ({left.stop}; {size} of {self.seen_size} B)")  # fmt: skip
            self._generation(why)
            return 0
        shipped = self._ship(old, tail)
        self._follow(new)
        return shipped + self._ship(new, self._rest())


@dataclass(frozen=True)
class Chain:
    """The newest generation of an archive: the logs to replay onto its base, in order, up to the first gap."""

    gen: Path
    logs: list[tuple[Path, int]]  # each log and its committed frames to replay
    missing: list[str]  # what is missing after them (empty: the whole generation checks out)


def archive_chain(archive: Path) -> Chain:
    """Check the newest generation's logs: each must be the very next restart of the one before (no log missing in
    between) and hold only whole committed frames (what the shipper writes); the replay stops at the first that is
    not, as PostgreSQL's recovery stops at a missing segment — logs past a hole would be replayed onto pages that
    never got the frames in between."""
    generations = sorted(p for p in archive.glob("gen-*") if (p / "base.db").is_file())
    if not generations:
        raise FileNotFoundError(f"{archive}: no base backup")
    gen = generations[-1]
    logs: list[tuple[Path, int]] = []
    previous: Header | None = None
    first = gen / BASE_LOG  # the header of the log that was current at the base backup (none: no log yet)
    expected = parse_header(first.read_bytes()) if first.is_file() else None
    for log in sorted(gen.glob("wal-*.wal")):
        data = log.read_bytes()
        try:
            header = parse_header(data[:HEADER])
        except WalFormatError as exc:
            return Chain(gen, logs, [f"{log.name} (unreadable: {exc})"])
        if previous is not None and not next_restart(previous, header):
            return Chain(gen, logs, [f"the log between {logs[-1][0].name} and {log.name}"])
        if previous is None and expected is not None and header != expected:
            return Chain(gen, logs, [f"the log the base backup goes with, before {log.name}"])
        found = scan(header, data[HEADER:])
        whole = HEADER + found.committed * (FRAME_HEADER + header.page_size) == len(data)
        logs.append((log, found.committed))
        if not whole:
            return Chain(gen, logs, [f"{log.name} from frame {found.committed + 1} on ({found.stop})"])
        previous = header
    return Chain(gen, logs, [])


def restore_wal(archive: Path, target: Path) -> dict[str, Any]:
    """Restore the newest generation into `target` (which must not exist): the base, then each shipped log of its
    chain (archive_chain) replayed by SQLite in order. What was replayed, for the timeline."""
    chain = archive_chain(archive)
    shutil.copyfile(chain.gen / "base.db", target)
    logs, frames = 0, 0
    for log, committed in chain.logs:
        if not committed:
            continue
        shutil.copyfile(log, Path(f"{target}-wal"))
        conn = sqlite3.connect(target, timeout=10.0)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()
        logs, frames = logs + 1, frames + committed
    return {"generation": chain.gen.name, "logs_replayed": logs, "frames_replayed": frames,
            "base_bytes": (chain.gen / "base.db").stat().st_size}  # fmt: skip
