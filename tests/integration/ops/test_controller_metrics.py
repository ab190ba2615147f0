"""The controller's /metrics on a real `greenflag up`, scraped before, during and after rollouts, against the
metric-name table; and what `rollout start --wait --html --junit` and `load run --out --html --junit` write about
the same release: a load run through the router while v2 (failing 30 % of its requests) is canaried and rolled
back by itself. One `greenflag up` for the module."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from greenflag.ops import metric_names as m
from tests.support import free_port, greenflag_cmd, http_get, local_release, save_spec, start_process, wait_until

pytestmark = pytest.mark.timeout(240)
CONTROLLER = [metric for metric in m.ALL if metric.source == "controller"]


@dataclass
class Release:
    tmp: Path
    spec: Path
    admin: str
    router: str
    token: str

    def scrape(self) -> dict[str, Any]:
        code, body = http_get(self.admin + "/metrics", headers={"Authorization": f"Bearer {self.token}"})
        assert code == 200, body
        return {family.name: family for family in text_string_to_metric_families(body.decode())}

    def gf(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(greenflag_cmd(*args), cwd=self.tmp, capture_output=True, text=True, timeout=timeout)


def _samples(families: dict[str, Any], metric: m.Metric) -> dict[tuple[tuple[str, str], ...], float]:
    family = families[metric.name]
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples if s.name == metric.sample}


def _value(families: dict[str, Any], metric: m.Metric, **labels: str) -> float | None:
    return _samples(families, metric).get(tuple(sorted(labels.items())))


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    tmp = tmp_path_factory.mktemp("release")
    steps = [{"set_weight": 50}, {"analysis": {"duration": "40s"}}, {"set_weight": 100}]
    strategy = {"canary": {"steps": steps, "abort_scale_down_delay": "200ms"}}
    path = save_spec(tmp, local_release(tmp, strategy=strategy, analysis={"interval": "500ms"}))
    (tmp / "v2.args").write_text("--error-rate 0.3")
    up_json = tmp / ".greenflag" / "up.json"
    with start_process(greenflag_cmd("up", "-f", str(path)), cwd=tmp, ready=up_json.exists, timeout=30):
        info = json.loads(up_json.read_text())
        token = (tmp / ".greenflag" / "token").read_text().strip()
        yield Release(tmp, path, info["admin"], info["router"], token)


def test_the_controller_series_are_the_table_before_any_rollout(release: Release) -> None:
    families = release.scrape()
    for metric in CONTROLLER:
        assert metric.name in families, metric.name
        family = families[metric.name]
        assert family.type == metric.kind, (metric.name, family.type)
        assert family.documentation == metric.help
        for sample in family.samples:
            assert set(sample.labels) == set(metric.labels), (metric.name, sample.labels)
    assert _value(families, m.ROLLOUT_ROLLBACKS, service="shop") == 0
    assert _value(families, m.ROLLOUT_PROMOTIONS, service="shop") == 0
    assert "greenflag_router_requests" in families  # the router's series on the same endpoint
    wait_until(lambda: _value(release.scrape(), m.CONTROLLER_LAST_TICK, service="shop") is not None, timeout=10)


def _dashboard_followed_the_rollback(port: int, dashboard: subprocess.Popen[bytes]) -> None:
    """`greenflag dashboard -f` followed the rollout through greenflag up's API, and the load's series file."""

    def dashboard_saw_it() -> bool:
        model = json.loads(http_get(f"http://127.0.0.1:{port}/model")[1])
        rollouts = model["rollouts"]
        return bool(rollouts and rollouts[-1]["phase"] == "RolledBack" and model["load"])

    try:
        wait_until(dashboard_saw_it, timeout=15, interval=0.2, what="the dashboard's model of the rolled-back v2")
        model = json.loads(http_get(f"http://127.0.0.1:{port}/model")[1])
        v2 = model["rollouts"][-1]
        assert v2["version"] == "v2" and v2["rollback"]["trigger"] == "error_rate"
        assert {"v1": 50, "v2": 50} in [sample["weights"] for sample in v2["weights"]]
    finally:
        os.killpg(dashboard.pid, signal.SIGINT)
        dashboard.wait(20)


def test_a_promotion_then_a_rollback_under_load(release: Release) -> None:
    first = release.gf("rollout", "start", "-f", str(release.spec), "--version", "v1", "--wait")
    assert first.returncode == 0, first.stdout + first.stderr
    families = release.scrape()
    assert _value(families, m.ROLLOUT_PROMOTIONS, service="shop") == 1
    assert _value(families, m.ROLLOUT_PHASE, service="shop", phase="Healthy") == 1
    assert _value(families, m.ROLLOUT_PHASE, service="shop", phase="Progressing") == 0
    assert _value(families, m.ROLLOUT_INFO, service="shop", version="v1", stable="v1", strategy="canary") == 1
    assert _value(families, m.ROLLOUT_WEIGHT, service="shop", backend="v1") == 100

    out = release.tmp / "out"
    port = free_port()
    dashboard = subprocess.Popen(
        greenflag_cmd("dashboard", "-f", str(release.spec), "--series", str(out / "series.jsonl"), "--port", str(port)),
        cwd=release.tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    load = subprocess.Popen(
        greenflag_cmd(
            "load", "run", release.router + "/api/items", "--rate", "40", "--duration", "40s", "--quiet",
            "--threshold", "http_req_failed: rate<0.01", "--threshold", "http_req_duration: p(95)<5000",
            "--summary-json", str(out / "summary.json"), "--out", str(out / "series.jsonl"),
            "--html", str(out / "load.html"), "--junit", str(out / "load.xml"),
        ),
        cwd=release.tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        rollout = subprocess.Popen(
            greenflag_cmd(
                "rollout", "start", "-f", str(release.spec), "--version", "v2", "--wait",
                "--html", str(out / "rollout.html"), "--junit", str(out / "rollout.xml"),
            ),
            cwd=release.tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

        def canary_at_50() -> bool:
            families = release.scrape()
            return _value(families, m.ROLLOUT_WEIGHT, service="shop", backend="v2") == 50

        wait_until(canary_at_50, timeout=60, interval=0.2, what="v2 at 50 %")
        families = release.scrape()
        assert _value(families, m.ROLLOUT_PHASE, service="shop", phase="Progressing") == 1
        assert _value(families, m.ROLLOUT_INFO, service="shop", version="v2", stable="v1", strategy="canary") == 1
        assert _value(families, m.ROLLOUT_STEPS, service="shop") == 3
        assert _value(families, m.ROLLOUT_WEIGHT, service="shop", backend="v1") == 50
        stdout, stderr = rollout.communicate(timeout=120)
        assert rollout.returncode == 3, stdout + stderr

        def seconds_written() -> bool:  # a rollback can come within seconds: let the run cover a few before ending it
            series = out / "series.jsonl"
            return series.exists() and len(series.read_text().splitlines()) >= 5

        wait_until(seconds_written, timeout=40, interval=0.2, what="five seconds in the load run's time series")
    finally:
        if load.poll() is None:
            os.killpg(load.pid, signal.SIGINT)  # ends the run early; its summary and reports are still written
        load.communicate(timeout=60)

    _dashboard_followed_the_rollback(port, dashboard)
    families = release.scrape()
    assert _value(families, m.ROLLOUT_ROLLBACKS, service="shop") == 1
    assert _value(families, m.ROLLOUT_PROMOTIONS, service="shop") == 1
    assert _value(families, m.ROLLOUT_PHASE, service="shop", phase="RolledBack") == 1
    assert _value(families, m.ROLLOUT_WEIGHT, service="shop", backend="v2") == 0
    verdicts = _samples(families, m.ANALYSIS_VERDICT)
    failed = [dict(labels) for labels, value in verdicts.items() if value == 1 and dict(labels)["verdict"] == "Failed"]
    assert [f["metric"] for f in failed] == ["error_rate"], verdicts
    measured = _samples(families, m.ANALYSIS_MEASUREMENTS)
    assert sum(measured.values()) >= 1
    assert any(dict(k)["verdict"] == "Failed" and v >= 1 for k, v in measured.items()), measured


def test_the_reports_of_that_release(release: Release) -> None:
    """What the rollout and the load run of the previous test wrote."""
    out = release.tmp / "out"
    # the rollout's JUnit: the rollback fails the rollout, the step and the analysis metric with its trigger
    suite = ET.parse(out / "rollout.xml").getroot().find("testsuite")
    assert suite is not None
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    failures = {name: case.find("failure") for name, case in cases.items() if case.find("failure") is not None}
    assert set(failures) == {"step 1: analysis", "analysis step:1: error_rate", "rollout of v2"}, failures
    assert cases["step 0: 50 % to v2"].find("failure") is None
    rollback = failures["rollout of v2"]
    assert rollback is not None and "trigger error_rate" in (rollback.text or "")
    assert "limit" in (rollback.text or "") and "value" in (rollback.text or "")
    assert int(suite.get("failures", "0")) == len(failures)
    assert int(suite.get("tests", "0")) == len(cases)
    assert "v2 readiness gate" in cases and cases["v2 readiness gate"].find("failure") is None

    # the load run's JUnit: one case per threshold expression; 30 % errors on half the traffic crossed one
    load_suite = ET.parse(out / "load.xml").getroot().find("testsuite")
    assert load_suite is not None
    names = {case.get("name"): case.find("failure") is None for case in load_suite.iter("testcase")}
    assert names["http_req_duration: p(95)<5000"] is True
    assert names["http_req_failed: rate<0.01"] is False
    lines = [json.loads(line) for line in (out / "series.jsonl").read_text().splitlines()]
    assert (
        len(lines) >= 5
        and sum(line["http_reqs"] for line in lines)
        == json.loads((out / "summary.json").read_text())["metrics"]["http_reqs"]["count"]
    )
    # a report of the whole release from the files, as a user would write it
    status = release.gf("rollout", "status", "-f", str(release.spec), "--json")
    (out / "status.json").write_text(status.stdout)
    report = release.gf(
        "report", str(out / "summary.json"), "--series", str(out / "series.jsonl"), "--rollout",
        str(out / "status.json"), "-o", str(out / "release.html"), "--junit", str(out / "release.xml"),
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert (out / "release.html").stat().st_size > 10_000
