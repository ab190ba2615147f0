"""SQLite's write-ahead log, read frame by frame (pure): which frames hold committed transactions.

The format (https://www.sqlite.org/fileformat2.html#the_write_ahead_log):

    header, 32 bytes, big-endian: magic 0x377f0682 | 0x377f0683 (checksum words little- | big-endian), format
      3007000, page size, checkpoint sequence, salt-1, salt-2, checksum-1, checksum-2 (of the first 24 bytes)
    frames, each a 24-byte header — page number, the database size in pages after the commit for a commit frame
      (0 for any other frame), salt-1, salt-2, checksum-1, checksum-2 — then one page

A frame is valid when its salts are the header's and its checksum is the running checksum over every frame
before it (from the header's) plus its own first 8 header bytes and its page. SQLite's recovery keeps the
valid frames up to the last valid commit frame and ignores the rest: a frame half-written when the writer died
(torn), frames of a transaction that never committed, and frames left from before the log was restarted (those
carry older salts). `scan` applies the same rule, so what it calls committed is what a restore will replay.

After a checkpoint, the next writer restarts the log: a new header with the checkpoint sequence + 1 and salt-1
+ 1 (salt-2 random), and frames written from the start of the file again, over the old ones.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = [
    "FRAME_HEADER",
    "HEADER",
    "Header",
    "Scan",
    "WalFormatError",
    "checksum",
    "frame_offset",
    "next_restart",
    "parse_header",
    "scan",
]
__pure__ = True

HEADER = 32
FRAME_HEADER = 24
MAGIC_LE, MAGIC_BE = 0x377F0682, 0x377F0683
VERSION = 3007000
_MASK = 0xFFFFFFFF


class WalFormatError(ValueError):
    """Not a WAL header (wrong magic, version, page size or checksum)."""


@dataclass(frozen=True)
class Header:
    big_endian: bool  # the checksum words' byte order
    page_size: int
    checkpoint_seq: int
    salts: tuple[int, int]
    checksum: tuple[int, int]
    raw: bytes  # the 32 bytes, to start a shipped copy of this log with


def checksum(data: bytes, big_endian: bool, start: tuple[int, int] = (0, 0)) -> tuple[int, int]:
    """SQLite's WAL checksum of `data` (a multiple of 8 bytes), continuing from `start`:
    for each pair of 32-bit words (x0, x1): s0 += x0 + s1; s1 += x1 + s0 (mod 2**32)."""
    if len(data) % 8:
        raise ValueError(f"checksum input must be a multiple of 8 bytes, not {len(data)}")
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    s0, s1 = start
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & _MASK
        s1 = (s1 + words[i + 1] + s0) & _MASK
    return s0, s1


def parse_header(data: bytes) -> Header:
    if len(data) < HEADER:
        raise WalFormatError(f"a WAL header is {HEADER} bytes, not {len(data)}")
    magic, version, page_size, seq, salt1, salt2, c1, c2 = struct.unpack(">8I", data[:HEADER])
    if magic not in (MAGIC_LE, MAGIC_BE):
        raise WalFormatError(f"bad magic {magic:#010x}")
    if version != VERSION:
        raise WalFormatError(f"WAL format {version}, expected {VERSION}")
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        raise WalFormatError(f"page size {page_size} is not a power of two from 512 to 65536")
    big_endian = magic == MAGIC_BE
    if checksum(data[:24], big_endian) != (c1, c2):
        raise WalFormatError("the header's checksum does not match")
    return Header(big_endian, page_size, seq, (salt1, salt2), (c1, c2), bytes(data[:HEADER]))


def frame_offset(index: int, page_size: int) -> int:
    """Where frame `index` (from 0) starts in the file."""
    return HEADER + index * (FRAME_HEADER + page_size)


def next_restart(old: Header, new: Header) -> bool:
    """Whether `new` is the header of the very next restart of the log `old` heads (no restart in between)."""
    return new.checkpoint_seq == (old.checkpoint_seq + 1) & _MASK and new.salts[0] == (old.salts[0] + 1) & _MASK


@dataclass(frozen=True)
class Scan:
    committed: int  # frames from `start` through the last valid commit frame (0: no new commit)
    checksum: tuple[int, int]  # the running checksum after those frames (to continue from)
    db_pages: int | None  # the database size after the last commit found
    transactions: int  # commit frames among them
    valid: int  # valid frames from `start` (committed ones, then the frames of a transaction not committed yet)
    stop: str  # why the scan stopped: "end", "torn" (a partial frame), "salt" or "checksum"


def scan(header: Header, data: bytes, start: tuple[int, int] | None = None) -> Scan:
    """Read the frames in `data` (bytes from a frame boundary of the log `header` heads), from the running
    checksum `start` (None: the header's, for frame 0), up to the first one that is not valid."""
    size = FRAME_HEADER + header.page_size
    running = header.checksum if start is None else start
    committed, at_commit, db_pages, transactions, valid, stop = 0, running, None, 0, 0, "end"
    for offset in range(0, len(data), size):
        frame = data[offset : offset + size]
        if len(frame) < size:
            stop = "torn"
            break
        pgno, commit, salt1, salt2, c1, c2 = struct.unpack(">6I", frame[:FRAME_HEADER])
        if (salt1, salt2) != header.salts or pgno == 0:
            stop = "salt"
            break
        running = checksum(frame[FRAME_HEADER:], header.big_endian, checksum(frame[:8], header.big_endian, running))
        if running != (c1, c2):
            stop = "checksum"
            break
        valid += 1
        if commit:
            committed, at_commit, db_pages, transactions = valid, running, commit, transactions + 1
    return Scan(committed, at_commit, db_pages, transactions, valid, stop)
