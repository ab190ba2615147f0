"""The WAL frame reader (pure) against logs SQLite itself wrote: it counts the frames SQLite counts, and where a log
is torn or corrupt it keeps exactly the transactions SQLite's own recovery keeps."""

from __future__ import annotations

import shutil
import sqlite3
import struct
from pathlib import Path

import pytest

from greenflag.dr.sqlite.walframes import (
    FRAME_HEADER,
    HEADER,
    WalFormatError,
    checksum,
    frame_offset,
    next_restart,
    parse_header,
    scan,
)


def make_log(tmp_path: Path, rows: int, *, blob: int = 0) -> tuple[Path, sqlite3.Connection]:
    """A database whose every change is still in its log (no checkpoint): `rows` single-row transactions."""
    path = tmp_path / "live.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)")
    for _ in range(rows):
        conn.execute("INSERT INTO t (data) VALUES (?)", (bytes(blob) if blob else b"x",))
    return path, conn


def recovered_rows(tmp_path: Path, db: Path, wal: bytes) -> int:
    """What SQLite's own recovery makes of `wal` next to a copy of `db` (rows in t, or 0 without the table)."""
    target = tmp_path / "recovered" / "copy.db"
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(db, target)
    Path(f"{target}-wal").write_bytes(wal)
    conn = sqlite3.connect(target)
    try:
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 't'").fetchone()[0]
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0]) if tables else 0
    finally:
        conn.close()
        shutil.rmtree(target.parent)


def test_it_counts_the_frames_and_commits_sqlite_wrote(tmp_path: Path) -> None:
    path, conn = make_log(tmp_path, 40)
    data = Path(f"{path}-wal").read_bytes()
    header = parse_header(data)
    found = scan(header, data[HEADER:])
    busy, log_frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and found.valid == found.committed == log_frames  # SQLite's own count of the log's frames
    assert (found.valid, found.transactions, found.stop) == (42, 41, "end")  # CREATE TABLE: 2 frames; 40 inserts
    assert header.page_size == conn.execute("PRAGMA page_size").fetchone()[0] and found.db_pages == 2
    assert len(data) == frame_offset(found.valid, header.page_size)
    # continuing from a frame boundary with the running checksum gives the same result as one scan
    first = scan(header, data[HEADER : frame_offset(10, header.page_size)])
    rest = scan(header, data[frame_offset(10, header.page_size) :], first.checksum)
    assert (first.committed + rest.committed, rest.checksum) == (found.committed, found.checksum)
    conn.close()


@pytest.mark.parametrize("cut", [1, FRAME_HEADER - 1, FRAME_HEADER, FRAME_HEADER + 100])
def test_a_torn_last_frame_is_not_committed_as_sqlite_recovers_it(tmp_path: Path, cut: int) -> None:
    path, conn = make_log(tmp_path, 10)
    data = Path(f"{path}-wal").read_bytes()
    header = parse_header(data)
    whole = scan(header, data[HEADER:])
    torn = data[: frame_offset(whole.valid - 1, header.page_size) + cut]  # the last frame half-written
    found = scan(header, torn[HEADER:])
    assert (found.committed, found.stop, found.transactions) == (whole.committed - 1, "torn", whole.transactions - 1)
    assert recovered_rows(tmp_path, path, torn) == 9  # SQLite drops the same transaction
    conn.close()


def test_a_corrupt_frame_ends_the_log_there(tmp_path: Path) -> None:
    path, conn = make_log(tmp_path, 10)
    data = bytearray(Path(f"{path}-wal").read_bytes())
    header = parse_header(bytes(data))
    at = frame_offset(6, header.page_size) + FRAME_HEADER + 500  # a byte of the 7th frame's page
    data[at] ^= 0xFF
    found = scan(header, bytes(data[HEADER:]))
    assert (found.valid, found.committed, found.stop) == (6, 6, "checksum")
    assert recovered_rows(tmp_path, path, bytes(data)) == 4  # frames 1-2 made the table, 3-6 hold four rows
    conn.close()


def test_a_transaction_not_committed_yet_is_valid_but_not_committed(tmp_path: Path) -> None:
    path, conn = make_log(tmp_path, 3, blob=20_000)  # each insert: several overflow pages, one commit frame
    data = Path(f"{path}-wal").read_bytes()
    header = parse_header(data)
    whole = scan(header, data[HEADER:])
    assert whole.valid > whole.transactions  # multi-frame transactions
    # cut the last transaction after its first frame (as a reader racing the writer sees it)
    commits = [i for i in range(whole.committed) if _is_commit(data, header.page_size, i)]
    partial = data[: frame_offset(commits[-2] + 2, header.page_size)]
    found = scan(header, partial[HEADER:])
    assert found.committed == commits[-2] + 1 and found.valid == commits[-2] + 2 and found.stop == "end"
    assert recovered_rows(tmp_path, path, partial) == 2
    conn.close()


def _is_commit(data: bytes, page_size: int, index: int) -> bool:
    offset = frame_offset(index, page_size)
    return struct.unpack(">I", data[offset + 4 : offset + 8])[0] != 0


def test_after_a_restart_the_old_frames_carry_other_salts(tmp_path: Path) -> None:
    path, conn = make_log(tmp_path, 10)
    old = parse_header(Path(f"{path}-wal").read_bytes())
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    conn.execute("INSERT INTO t (data) VALUES (x'01')")  # the next writer restarts the log
    data = Path(f"{path}-wal").read_bytes()
    new = parse_header(data)
    found = scan(new, data[HEADER:])
    assert new.salts != old.salts and next_restart(old, new) and not next_restart(old, old)
    assert (found.committed, found.stop) == (1, "salt")  # frame 2 on is the old log's
    assert scan(old, data[frame_offset(1, old.page_size) :], None).stop in ("salt", "checksum")
    conn.close()


def test_bad_headers_are_refused() -> None:
    good = struct.pack(">6I", 0x377F0682, 3007000, 4096, 0, 11, 22)
    good += struct.pack(">2I", *checksum(good, False))
    assert parse_header(good).salts == (11, 22)
    for bad, what in [
        (good[:20], "32 bytes"),
        (struct.pack(">I", 0x12345678) + good[4:], "magic"),
        (good[:4] + struct.pack(">I", 3007001) + good[8:], "format"),
        (good[:8] + struct.pack(">I", 1000) + good[12:], "page size"),
        (good[:-1] + bytes([good[-1] ^ 1]), "checksum"),
    ]:
        with pytest.raises(WalFormatError, match=what):
            parse_header(bad)


def test_the_checksum_words_follow_the_magic_number() -> None:
    data = bytes(range(64))
    swapped = b"".join(data[i : i + 4][::-1] for i in range(0, 64, 4))
    assert checksum(data, True) == checksum(swapped, False) != checksum(data, False)
    be = struct.pack(">6I", 0x377F0683, 3007000, 512, 7, 1, 2)
    header = parse_header(be + struct.pack(">2I", *checksum(be, True)))
    assert header.big_endian and header.checkpoint_seq == 7
    with pytest.raises(ValueError, match="multiple of 8"):
        checksum(b"1234", False)
