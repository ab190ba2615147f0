"""Replaying the analysis over recorded router stats (pure): a recording of a real faulty run, and made-up ones for
each way a run can end; the recording's parser refuses what is not an export, naming the line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from greenflag.analysis.recording import Recording
from greenflag.analysis.replay import replay
from greenflag.analysis.verdicts import Verdict
from greenflag.spec import AnalysisSpec
from tests.support import greenflag_cmd

DATA = Path(__file__).resolve().parents[2] / "data" / "replay"
T0 = 1_800_000_000.0
CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


def second(t: float, backend: str, ok: int, failed: int = 0, *, synthetic: tuple[int, int] = (0, 0),
           ms: float = 2.0) -> dict[str, Any]:  # fmt: skip
    def part(good: int, bad: int) -> dict[str, Any]:
        responses = dict.fromkeys(CLASSES, 0) | {"2xx": good, "5xx": bad}
        buckets = [[ms, good + bad]] if good + bad else []
        return {"requests": good + bad, "responses": responses, "transport_errors": 0, "latency_buckets_ms": buckets}

    return {"time": t, "backend": backend, **part(ok, failed), "synthetic": part(*synthetic)}


def recording(seconds: int, canary: tuple[int, int], *, stable: int = 50, faulty_from: int = 0,
              synthetic: tuple[int, int] = (0, 0)) -> Recording:  # fmt: skip
    """`stable` clean requests a second on v1 (from 60 s before T0), `canary` (ok, failed) a second on v2 from T0;
    before `faulty_from` the canary's failed ones are clean."""
    lines = [second(T0 + s, "v1", stable) for s in range(-60, seconds)]
    for s in range(seconds):
        ok, bad = canary if s >= faulty_from else (canary[0] + canary[1], 0)
        lines.append(second(T0 + s, "v2", ok + synthetic[0] + synthetic[1], bad, synthetic=synthetic))
    return Recording.from_records(lines)


def spec(**analysis: Any) -> AnalysisSpec:
    return AnalysisSpec.model_validate({"interval": "500ms", **analysis})


def test_a_recorded_faulty_run_would_have_rolled_back_as_the_live_analysis_did() -> None:
    live = json.loads((DATA / "faulty-canary.json").read_text())
    rec = Recording.from_lines((DATA / "faulty-canary.jsonl").read_text().splitlines())
    assert rec.backends == ["v1", "v2"]
    result = replay(spec(**live["analysis"]), rec, canary="v2", stable="v1", start=live["start"], duration=20.0)
    assert (result.verdict, result.metric, result.outcome) == (Verdict.FAILED, "error_rate", "rolled back")
    assert result.message is not None and "worse, mSPRT" in result.message
    assert result.decided_at is not None and result.first_error is not None
    assert result.first_error <= result.decided_at
    # whole seconds, and looks on the dot (live ones drift by what each takes): within about a second of the live one
    assert abs(result.decided_at - live["decided_at"]) <= 1.6, (live, result.to_json())
    summary = result.to_json()
    assert summary["after_start_s"] == pytest.approx(result.decided_at - live["start"], abs=1e-3)


def test_a_clean_canary_would_have_passed() -> None:
    result = replay(spec(), recording(30, (20, 0)), canary="v2", stable="v1", start=T0, duration=20.0)
    assert (result.verdict, result.outcome, result.metric) == (Verdict.SUCCESSFUL, "promoted", None)
    assert {m.metric for m in result.measurements} == {"error_rate", "latency"}


def test_a_fault_is_caught_after_it_begins_and_the_times_say_so() -> None:
    result = replay(spec(), recording(30, (18, 2), faulty_from=5), canary="v2", stable="v1", start=T0, duration=20.0)
    assert (result.verdict, result.metric) == (Verdict.FAILED, "error_rate")
    assert result.first_error == T0 + 5
    assert result.decided_at is not None and T0 + 6 <= result.decided_at <= T0 + 12
    assert all(m.at <= result.decided_at for m in result.measurements)  # it stops at the decision


POLICIES = [("pause", "paused"), ("rollback", "rolled back"), ("promote", "promoted")]


@pytest.mark.parametrize(("policy", "outcome"), POLICIES)
def test_too_little_evidence_follows_on_inconclusive(policy: str, outcome: str) -> None:
    rec = recording(10, (1, 0))  # one request a second: 20 are needed before judging
    result = replay(spec(on_inconclusive=policy), rec, canary="v2", stable="v1", start=T0, duration=8.0)
    assert (result.verdict, result.outcome) == (Verdict.INCONCLUSIVE, outcome)
    assert result.message is not None and result.message.startswith("not enough evidence: error_rate: canary has")


def test_judge_synthetic_counts_only_the_analysis_traffic() -> None:
    # users' requests fail, analysis traffic is clean: judged on the analysis traffic only, the canary passes
    rec = recording(20, (5, 5), synthetic=(40, 0))
    result = replay(spec(traffic={"urls": ["/"], "judge": "synthetic"}), rec, canary="v2", stable="v1", start=T0,
                    duration=15.0)  # fmt: skip
    assert result.verdict is Verdict.INCONCLUSIVE or result.verdict is Verdict.SUCCESSFUL
    assert all("[analysis traffic only]" in m.message for m in result.measurements if m.metric == "error_rate")
    judged_all = replay(spec(traffic={"urls": ["/"], "judge": "both"}), rec, canary="v2", stable="v1", start=T0)
    assert judged_all.verdict is Verdict.FAILED


def test_router_metrics_replay_and_other_providers_are_left_out() -> None:
    metrics = [
        {"name": "errors", "provider": "router", "query": "error_rate", "failure_condition": "result > 0.05"},
        {"name": "prom", "provider": "prometheus", "address": "http://127.0.0.1:9090", "query": "up"},
    ]
    result = replay(spec(defaults=False, metrics=metrics), recording(20, (10, 2), faulty_from=3), canary="v2",
                    stable="v1", start=T0)  # fmt: skip
    assert (result.verdict, result.metric) == (Verdict.FAILED, "errors")
    assert result.notes == ("prom: left out (prometheus metrics are not in a router recording)",)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("not json", "line 2: not JSON"),
        ('{"backend": "v1", "requests": 1}', "line 2: time: expected Unix seconds"),
        ('{"time": 1, "requests": 1}', "line 2: expected an object with time, backend"),
        ('{"time": 1, "backend": "v1"}', "line 2: KeyError"),
        ('{"time": 1, "backend": "v1", "requests": -1}', "line 2: negative counts"),
        ('{"time": 1, "backend": "v1", "requests": 1, "synthetic": {"requests": 2}}', "more requests than"),
    ],
)
def test_the_parser_names_the_line(line: str, expected: str) -> None:
    good = json.dumps(second(T0, "v1", 1))
    with pytest.raises(ValueError, match=expected):
        Recording.from_lines([good, line])


def test_cli_replay_exit_codes(tmp_path: Path) -> None:
    live = json.loads((DATA / "faulty-canary.json").read_text())
    yaml_spec = tmp_path / "greenflag.yaml"
    yaml_spec.write_text(
        "service: web\nplatform: {command: 'web --port {port}'}\nstrategy: {canary: {steps: [{set_weight: 10}]}}\n"
        f"analysis: {json.dumps(live['analysis'])}\n"
    )
    args = ["analysis", "replay", "-f", str(yaml_spec), "--stats", str(DATA / "faulty-canary.jsonl")]
    done = subprocess.run(greenflag_cmd(*args, "--canary", "v2", "--from", str(live["start"]), "--duration", "20s"),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "the rollout would have rolled back at" in done.stdout and "after the canary's first failing" in done.stdout
    as_json = subprocess.run(greenflag_cmd(*args, "--json"), capture_output=True, text=True, timeout=60)
    summary = json.loads(as_json.stdout.splitlines()[-1])["summary"]
    assert (summary["canary"], summary["stable"], summary["verdict"]) == ("v2", "v1", "Failed")  # v2 appeared last
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"time": 1, "backend": "v1", "requests": 1}\n{oops\n')
    refused = subprocess.run(greenflag_cmd("analysis", "replay", "-f", str(yaml_spec), "--stats", str(bad)),
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert refused.returncode == 2 and "line 2: not JSON" in refused.stderr and "Traceback" not in refused.stderr
