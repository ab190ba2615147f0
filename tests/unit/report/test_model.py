"""The report model: chart points from series lines, weights and steps rebuilt from a rollout's events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenflag.report.html import render_html
from greenflag.report.model import load_model, point, report_model, rollout_model, step_rows, weights_from_events

DATA = Path(__file__).resolve().parents[2] / "e2e" / "data" / "release"
T = 1_700_000_000.0


def _event(dt: float, kind: str, message: str, **extra: object) -> dict[str, object]:
    return {"epoch": T + dt, "time": "", "kind": kind, "message": message, **extra}


CANARY = {
    "rollout_id": 2, "service": "shop", "version": "v2", "stable": "v1", "phase": "RolledBack", "step": 1,
    "events": [
        _event(0, "started", "rollout of v2 started (canary from v1)"),
        _event(1, "ready", "v2 passed its readiness gate"),
        _event(2, "step", "step 0: 10 % to v2"),
        _event(3, "analysis", "step 1: analysis started"),
        _event(9, "rollback", "rolling back v2: error_rate", trigger="error_rate", value=0.05, limit="0.01"),
        _event(10, "rolled_back", "rolled back: v1 serves, v2 stopped"),
    ],
}  # fmt: skip


def test_weights_are_rebuilt_from_the_events() -> None:
    assert weights_from_events(CANARY) == [
        {"t": T, "weights": {"v1": 100, "v2": 0}},
        {"t": T + 2, "weights": {"v2": 10, "v1": 90}},
        {"t": T + 9, "weights": {"v2": 0, "v1": 100}},
    ]


def test_a_promotion_and_an_initial_deployment() -> None:
    events = [
        _event(0, "started", "rollout of v1 started (initial deployment)"),
        _event(1, "step", "step 0: 100 % to v1"),
        _event(2, "promoted", "v1 promoted"),
    ]
    initial = {"version": "v1", "stable": "v1", "events": events}
    assert [s["weights"] for s in weights_from_events(initial)] == [{"v1": 100}, {"v1": 100}]
    rows = step_rows(initial["events"], {"step": 1})  # type: ignore[arg-type]
    assert [(r["step"], r["what"], r["outcome"]) for r in rows] == [
        (0, "100 % to v1", "passed"),
        (1, "promotion", "promoted"),
    ]


def test_each_step_reached_is_a_row_and_the_rollback_ends_the_current_one() -> None:
    rows = step_rows(CANARY["events"], CANARY)  # type: ignore[arg-type]
    assert [(r["step"], r["what"], r["weight"], r["outcome"]) for r in rows] == [
        (0, "10 % to v2", 10, "passed"), (1, "analysis", 10, "rolled back"),
    ]  # fmt: skip
    assert rows[1]["ended"] == T + 9


def test_the_rollback_and_markers() -> None:
    model = rollout_model(CANARY)
    assert model["rollback"] == {"t": T + 9, "message": "rolling back v2: error_rate", "trigger": "error_rate",
                                 "value": 0.05, "limit": "0.01"}  # fmt: skip
    assert [m["kind"] for m in model["markers"]] == ["step", "analysis", "rollback"]
    sampled = rollout_model(CANARY, [{"t": T, "weights": {"v1": 100}}])
    assert sampled["weights"] == [{"t": T, "weights": {"v1": 100}}]  # samples win over the events


def test_points_rates_and_percentiles() -> None:
    line = {"t": 10, "interval_s": 1, "http_reqs": 4, "http_req_failed": 1, "vus": 3,
            "http_req_duration": {"i": [1000, 1500], "c": [3, 1]}}  # fmt: skip
    got = point(line)
    assert (got["rps"], got["error_rate"], got["vus"]) == (4.0, 0.25, 3)
    assert got["p50"] == pytest.approx(1.0, abs=0.001) and got["p99"] is not None and got["p99"] > got["p50"]
    assert point({**line, "covered_s": 0.2})["rps"] is None  # a sliver at the end of a run is no rate


def test_without_a_summary_the_numbers_come_from_the_lines() -> None:
    lines = [json.loads(line) for line in (DATA / "series.jsonl").read_text().splitlines()]
    model = load_model(None, lines)
    assert model["headline"]["requests"] == sum(line["http_reqs"] for line in lines)
    assert [row["name"] for row in model["by_name"]] == sorted({n for line in lines for n in line["by_name"]})


def test_the_page_cannot_be_closed_by_a_name() -> None:
    model = report_model(title="</title><script>alert(1)</script>", statuses=[CANARY])
    html = render_html(model)
    assert "</script><script>alert" not in html and "</title><script>" not in html
    assert html.count("<script") == 3  # the data, the chart script, the boot line
