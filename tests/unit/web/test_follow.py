"""Following a series file another process writes: whole lines only, once each, across truncation."""

from __future__ import annotations

from pathlib import Path

from greenflag.web.follow import SeriesTail

LINE = '{"v": 1, "t": %d, "interval_s": 1, "http_reqs": 1}'


def test_only_complete_lines_once_and_a_rewritten_file_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    tail = SeriesTail(path)
    assert tail.read() == []  # not there yet
    path.write_text(LINE % 1 + "\n" + (LINE % 2)[:10])
    assert [line["t"] for line in tail.read()] == [1]
    with path.open("a") as handle:
        handle.write((LINE % 2)[10:] + "\nnot json\n")
    assert [line["t"] for line in tail.read()] == [2]
    assert tail.read() == []
    path.write_text(LINE % 7 + "\n")  # a new run rewrote it
    assert [line["t"] for line in tail.read()] == [7]
