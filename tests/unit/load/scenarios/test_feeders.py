"""Data feeders: CSV and JSON rows, per VU, shared or unique, and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenflag.load.scenarios.user import Feeder, FeederExhausted


def test_feeders(tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text("name,email\nada,ada@example.com\ngrace,grace@example.com\n")
    (tmp_path / "codes.json").write_text(json.dumps([{"code": "A"}, {"code": "B"}]))
    users = Feeder("users.csv", base_dir=tmp_path)
    assert [users.next()["name"] for _ in range(3)] == ["ada", "grace", "ada"]
    assert users.for_vu(1)["name"] == "ada" and users.for_vu(4)["name"] == "grace"
    codes = Feeder(tmp_path / "codes.json", unique=True)
    assert [codes.next()["code"] for _ in range(2)] == ["A", "B"]
    with pytest.raises(FeederExhausted):
        codes.next()
    shuffled = Feeder(tmp_path / "codes.json", unique=True, order="random", seed=1)
    assert sorted(shuffled.next()["code"] for _ in range(2)) == ["A", "B"]


def test_feeder_relative_to_the_creating_file_and_bad_files(tmp_path: Path) -> None:
    here = Feeder("no-such.csv")
    assert here.path == Path(__file__).resolve().parent / "no-such.csv"
    with pytest.raises(ValueError, match="cannot read"):
        len(here)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ValueError, match="list of objects"):
        len(Feeder(tmp_path / "x.json"))
    (tmp_path / "x.txt").write_text("a")
    with pytest.raises(ValueError, match=r"\.csv, \.tsv or \.json"):
        len(Feeder(tmp_path / "x.txt"))
