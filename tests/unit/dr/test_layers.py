"""dr sits beside rollout in the layers (tests/unit/test_architecture.py checks the tiers and purity); on top of
that, drills and faults never reach into the rollout controller, so rollouts can use faults and not the reverse."""

from __future__ import annotations

from pathlib import Path

from tests.architecture import ImportGraph

SRC = Path(__file__).resolve().parents[3] / "src"


def test_dr_imports_nothing_from_rollout_data_or_readiness() -> None:
    graph = ImportGraph.read(SRC, "greenflag")
    bad = [
        imp.where()
        for imp in graph.imports
        if imp.source.startswith("greenflag.dr") and imp.target.startswith(
            ("greenflag.rollout", "greenflag.data", "greenflag.readiness", "greenflag.report", "greenflag.cli"))
    ]  # fmt: skip
    assert bad == []
    assert "greenflag.dr.faults.backend" in graph.modules  # the graph does see the package
