"""docs/operations.md held to the code: its metric table names exactly the series greenflag defines, every alert
is documented, and its YAML parses (the docs suite, tests/docs, runs the page's commands)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from greenflag.ops import metric_names as m
from greenflag.ops.alert_rules import ALERTS

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text()
FENCES = [(t.info, t.content) for t in MarkdownIt().parse(DOC) if t.type == "fence"]


def test_metric_table_is_the_metric_names() -> None:
    documented = set(re.findall(r"`(greenflag_[a-z_]+)`", DOC))
    exposed = {x.sample if x.kind != "histogram" else x.name for x in m.ALL}
    assert documented == exposed


def test_every_alert_is_documented_and_yaml_parses() -> None:
    for alert in ALERTS:
        assert alert.name in DOC or alert.name.replace("GreenflagCertificate", "…") in DOC, alert.name
    for info, body in FENCES:
        if info == "yaml":
            assert isinstance(yaml.safe_load(body), dict)
