"""docs/readiness.md held to the code: its links, the headers scoring table and the WAF corpus table match what
greenflag uses (the docs suite, tests/docs, runs the page's commands, YAML and Python and compares its JSON)."""

from __future__ import annotations

import re

from greenflag.readiness.headers.grade import SCORE_TABLE
from greenflag.readiness.waf.corpus import load_corpus
from tests.support import ROOT

DOC = ROOT / "docs" / "readiness.md"


def test_tables_match_the_code() -> None:
    text = DOC.read_text()
    links = set(re.findall(r"\]\(([a-z-]+\.md)\)", text))
    assert links >= {"check-tls.md", "check-dns.md"}
    assert all((DOC.parent / link).exists() for link in links)
    rows = re.findall(r"^\| [a-z-() ]+ \| `([a-z0-9-]+)` \| ([+-]\d+) \|$", text, flags=re.M)
    assert {result: int(modifier) for result, modifier in rows} == {k: v[0] for k, v in SCORE_TABLE.items()}
    classes = re.findall(r"^\| `([a-z_]+)` \| [^|]+ \| [^|]+ \| (\d+) \| (\d+) \| ([^|]+) \| ([^|]+) \|$", text, re.M)
    corpus = {s.id: s for s in load_corpus()}
    assert {c[0] for c in classes} == set(corpus)
    for set_id, attacks, benign, places, encoders in classes:
        item = corpus[set_id]
        assert (int(attacks), int(benign)) == (len(item.attacks), len(item.benign))
        assert [p.strip() for p in places.split(",")] == list(item.placeholders)
        assert [e.strip() for e in encoders.split(",")] == list(item.encoders)
