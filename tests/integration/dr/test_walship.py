"""WAL shipping against a real SQLite database written by a real connection: the log is shipped across its restarts,
torn and uncommitted frames are never shipped, a continuity break takes a new base instead of leaving a gap, and
the restore (base + the shipped logs, replayed by SQLite) holds every transaction shipped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from greenflag.dr.sqlite.walframes import FRAME_HEADER, HEADER, parse_header
from greenflag.dr.sqlite.walship import WalShipper, archive_chain, restore_wal


def open_db(tmp_path: Path, autocheckpoint: int = 1000) -> tuple[Path, sqlite3.Connection]:
    path = tmp_path / "primary $(x).db"  # shell and URI metacharacters in the path
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA wal_autocheckpoint = {autocheckpoint}")
    conn.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, note TEXT)")
    return path, conn


def write(conn: sqlite3.Connection, first: int, count: int) -> int:
    """Rows of ~3 kB: about one per page, so a page missed is a row missed (small rows share a page that later
    frames rewrite whole, which would hide a gap)."""
    for seq in range(first, first + count):
        conn.execute("INSERT INTO t VALUES (?, ?)", (seq, f"row {seq} " + "x" * 3000))
    return first + count


def restored(tmp_path: Path, shipper: WalShipper, name: str = "restored.db") -> tuple[list[int], dict[str, object]]:
    target = tmp_path / name
    detail = restore_wal(shipper.archive, target)
    conn = sqlite3.connect(target)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return [int(r[0]) for r in conn.execute("SELECT seq FROM t ORDER BY seq")], detail
    finally:
        conn.close()


def test_the_log_is_shipped_across_its_restarts(tmp_path: Path) -> None:
    path, conn = open_db(tmp_path, autocheckpoint=20)  # a checkpoint (and a restart of the log) every ~20 frames
    shipper = WalShipper(path, tmp_path / "archive")
    shipper.start()
    seq = 1
    for _ in range(60):  # a poll every few frames: the new log never reaches the old one's unshipped frames
        seq = write(conn, seq, 2)
        shipper.poll()
    stats = shipper.stats
    assert stats.generations == 1 and stats.breaks == [] and stats.logs >= 8, stats  # every restart followed
    rows, detail = restored(tmp_path, shipper)
    assert rows == list(range(1, seq)) and detail["logs_replayed"] == stats.logs
    assert stats.transactions >= 120
    conn.close()


def test_two_restarts_between_polls_take_a_new_base_not_a_gap(tmp_path: Path) -> None:
    path, conn = open_db(tmp_path, autocheckpoint=0)
    shipper = WalShipper(path, tmp_path / "archive")
    shipper.start()
    seq = write(conn, 1, 5)
    shipper.poll()
    for _ in range(2):  # checkpoint + restart, twice, unseen
        seq = write(conn, seq, 3)
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    seq = write(conn, seq, 2)
    shipper.poll()
    seq = write(conn, seq, 4)
    shipper.poll()
    rows, detail = restored(tmp_path, shipper)
    assert rows == list(range(1, seq))  # following the newest log alone would have lost the unseen ones
    assert shipper.stats.generations == 2 and "more than once" in shipper.stats.breaks[0]
    assert detail["generation"] == "gen-000002"
    conn.close()


def test_a_truncated_log_takes_a_new_base(tmp_path: Path) -> None:
    path, conn = open_db(tmp_path, autocheckpoint=0)
    shipper = WalShipper(path, tmp_path / "archive")
    shipper.start()
    seq = write(conn, 1, 10)
    shipper.poll()
    seq = write(conn, seq, 3)  # not shipped before the log is emptied: only the database file holds them now
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert Path(f"{path}-wal").stat().st_size == 0
    shipper.poll()  # no log at all: nothing to ship, nothing lost (the old log's header is still followed)
    seq = write(conn, seq, 2)
    shipper.poll()
    rows, _ = restored(tmp_path, shipper)
    assert rows == list(range(1, seq))
    assert shipper.stats.generations == 2 and "not proven" in shipper.stats.breaks[0], shipper.stats
    conn.close()


def test_torn_and_uncommitted_frames_are_never_shipped(tmp_path: Path) -> None:
    path, conn = open_db(tmp_path, autocheckpoint=0)
    wal = Path(f"{path}-wal")
    shipper = WalShipper(path, tmp_path / "archive")
    shipper.start()
    seq = write(conn, 1, 5)
    shipper.poll()
    page = parse_header(wal.read_bytes()[:HEADER]).page_size
    with open(wal, "ab") as f:  # half a frame after the last one: what a reader sees while a frame is written
        f.write(wal.read_bytes()[HEADER : HEADER + FRAME_HEADER + page // 2])
    assert shipper.poll() == 0
    conn.execute("PRAGMA cache_size = 1")  # a transaction too big for the cache spills frames before its commit
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO t VALUES (?, ?)", ((s, "x" * 500) for s in range(1000, 1400)))
    shipped = shipper.poll()
    assert shipped == 0 and wal.stat().st_size > (5 + 3) * (page + FRAME_HEADER)  # spilled, not committed
    rows, _ = restored(tmp_path, shipper, "while-open.db")
    assert rows == list(range(1, seq))  # the open transaction is not in the archive
    conn.execute("COMMIT")
    assert shipper.poll() == 1
    rows, _ = restored(tmp_path, shipper, "after-commit.db")
    assert rows == [*range(1, seq), *range(1000, 1400)]
    conn.close()


def test_a_lost_log_is_not_shipped(tmp_path: Path) -> None:
    path, conn = open_db(tmp_path, autocheckpoint=0)
    shipper = WalShipper(path, tmp_path / "archive")
    shipper.start()
    write(conn, 1, 3)
    conn.close()  # the last connection checkpoints and removes the log
    path.unlink()
    with pytest.raises(FileNotFoundError, match="gone"):
        shipper.poll()
    assert shipper.stats.transactions == 0


def shipped_across_restarts(tmp_path: Path) -> tuple[WalShipper, list[int], list[Path]]:
    """A generation of several shipped logs (a restart every ~20 frames, every one followed); its logs, in order."""
    path, conn = open_db(tmp_path, autocheckpoint=20)
    shipper = WalShipper(path, tmp_path / "archive")
    shipper.start()
    seq = 1
    for _ in range(40):
        seq = write(conn, seq, 2)
        shipper.poll()
    conn.close()
    assert shipper.stats.generations == 1 and shipper.stats.logs >= 4, shipper.stats
    assert shipper.gen is not None
    return shipper, list(range(1, seq)), sorted(shipper.gen.glob("wal-*.wal"))


def test_a_log_missing_from_the_archive_stops_the_restore_at_the_gap(tmp_path: Path) -> None:
    shipper, written, logs = shipped_across_restarts(tmp_path)
    assert archive_chain(shipper.archive).missing == []
    logs[2].unlink()  # lost from the archive: the logs after it start from pages that never got its frames
    chain = archive_chain(shipper.archive)
    assert [log for log, _ in chain.logs] == logs[:2]
    assert chain.missing == [f"the log between {logs[1].name} and {logs[3].name}"]
    rows, detail = restored(tmp_path, shipper)
    assert detail["logs_replayed"] == 2 and rows == written[: len(rows)] and len(rows) < len(written)  # a prefix


def test_a_damaged_log_is_replayed_up_to_the_damage_and_no_further(tmp_path: Path) -> None:
    shipper, written, logs = shipped_across_restarts(tmp_path)
    data = bytearray(logs[1].read_bytes())
    page = parse_header(bytes(data[:HEADER])).page_size
    data[HEADER + FRAME_HEADER + page + FRAME_HEADER + 100] ^= 0xFF  # a bit flipped in the second frame's page
    logs[1].write_bytes(bytes(data))
    chain = archive_chain(shipper.archive)
    assert [log for log, _ in chain.logs] == logs[:2]  # the damaged log is the last one replayed
    frames = (len(data) - HEADER) // (FRAME_HEADER + page)
    replayed = chain.logs[1][1]  # its frames through the last commit before the damage (a transaction is whole)
    assert replayed < 2 and chain.missing == [f"{logs[1].name} from frame {replayed + 1} on (checksum)"], frames
    rows, detail = restored(tmp_path, shipper)
    assert detail["frames_replayed"] == chain.logs[0][1] + replayed  # nothing of the logs after the damage
    assert rows == written[: len(rows)] and len(rows) < len(written)  # a prefix of what was written: no hole
