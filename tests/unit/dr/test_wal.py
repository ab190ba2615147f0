"""WAL segment names and archive gaps."""

from __future__ import annotations

import pytest

from greenflag.dr.wal import missing_segments, parse_segment, segment_name, start_segment_from_label

MB = 1024 * 1024


@pytest.mark.parametrize(("size", "per_log"), [(16 * MB, 0x100), (1 * MB, 0x1000), (1024 * MB, 4)])
def test_names_round_trip_across_a_log_boundary(size: int, per_log: int) -> None:
    last_in_log = per_log - 1
    name = segment_name(1, last_in_log, size)
    assert parse_segment(name, size) == (1, last_in_log)
    assert segment_name(1, last_in_log + 1, size) == "00000001" + "00000001" + "00000000"


def test_parse_rejects_other_files_and_bad_sizes() -> None:
    for name in ("00000002.history", "000000010000000000000003.partial", "000000010000000000000002.00000028.backup"):
        assert parse_segment(name, 16 * MB) is None
    with pytest.raises(ValueError, match="power of two"):
        segment_name(1, 1, 3 * MB)


def test_missing_segments_between_the_backup_start_and_the_newest() -> None:
    names = ["000000010000000000000002", "000000010000000000000003", "000000010000000000000005",
             "000000010000000000000001", "00000002.history", "000000020000000000000009"]  # fmt: skip
    assert missing_segments(names, "000000010000000000000002", 16 * MB) == ["000000010000000000000004"]
    assert missing_segments(names[:2], "000000010000000000000002", 16 * MB) == []
    # the backup's own start segment missing from the archive is a gap too
    assert missing_segments(["000000010000000000000003"], "000000010000000000000002", 16 * MB) == [
        "000000010000000000000002"
    ]
    assert missing_segments([], "000000010000000000000002", 16 * MB) == []


def test_start_segment_from_a_backup_label() -> None:
    label = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\n"
    assert start_segment_from_label(label) == "000000010000000000000002"
    assert start_segment_from_label("garbage") is None
