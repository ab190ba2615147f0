"""A fresh faulty canary run, recorded from the router (`GET /stats/export`) and replayed: the replay reaches the
live analysis's verdict, on the same rule, within about a second (`tests/integration/analysis/recorded_run.py`)."""

from __future__ import annotations

import pytest

from greenflag.analysis.recording import Recording
from greenflag.analysis.replay import replay
from greenflag.analysis.verdicts import Verdict
from greenflag.spec import AnalysisSpec
from tests.integration.analysis.recorded_run import ANALYSIS, record

pytestmark = pytest.mark.timeout(120)


async def test_replay_of_a_fresh_recording_matches_the_live_analysis() -> None:
    lines, live = await record(["--error-rate", "0.05", "--faults-after-s", "3"], seconds=12.0)
    assert live["verdict"] == "Failed" and live["metric"] == "error_rate", live
    rec = Recording.from_records(lines)  # replayed to its end: at least a second past the live decision
    result = replay(AnalysisSpec.model_validate(ANALYSIS), rec, canary="v2", stable="v1", start=live["start"])
    assert (result.verdict, result.metric, result.outcome) == (Verdict.FAILED, "error_rate", "rolled back"), (
        live, result.to_json(), [m.message for m in result.measurements[-4:]],
    )  # fmt: skip
    assert result.decided_at is not None and abs(result.decided_at - live["decided_at"]) <= 1.6, (live, result)
