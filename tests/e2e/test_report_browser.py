"""The HTML report in headless Chromium: `load run --html` after a real run against the reference service, and
`greenflag report` over a real release's files (a load run through the router while v2 was canaried and rolled
back, recorded from tests/integration/ops/test_controller_metrics.py). The charts are drawn with the expected
series and one point per interval, the rollback is marked, nothing is fetched from the network, no console
errors, and a hostile request name is shown as text. Screenshots are kept in the test's tmp dir."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenflag.demo.process import run_demo_app
from tests.browser import chromium_page, need_chromium, wait_js
from tests.support import greenflag_cmd

pytestmark = [need_chromium(), pytest.mark.timeout(180)]
DATA = Path(__file__).with_name("data") / "release"
HOSTILE = "</script><img src=x onerror=window.__xss=1>"
SCENARIO = f"""
from greenflag import User, task, constant

options = {{"thresholds": {{"http_req_duration": ["p(95)<5000"], "http_req_failed": ["rate<0.5"]}}}}


class Visitor(User):
    wait_time = constant(0.01)

    @task(3)
    async def home(self) -> None:
        response = await self.http.get("/", name="home")
        self.check(response, "home is 200", lambda r: r.status == 200)

    @task(1)
    async def missing(self) -> None:
        await self.http.get("/no-such-page", name={HOSTILE!r})
"""


@pytest.fixture(scope="module")
def app() -> Iterator[str]:
    with run_demo_app("v1") as running:
        yield running.url


def _open(page: object, path: Path) -> dict[str, dict[str, object]]:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))  # type: ignore[attr-defined]
    page.goto(path.as_uri())  # type: ignore[attr-defined]
    wait_js(page, "window.GF && Object.keys(GF.charts).length > 0", timeout=10)
    assert requests == [path.as_uri()], requests  # self-contained: nothing else is fetched
    charts: dict[str, dict[str, object]] = page.evaluate("GF.charts")  # type: ignore[attr-defined]
    return charts


def test_load_run_html_draws_every_interval(app: str, tmp_path: Path) -> None:
    scenario = tmp_path / "visit.py"
    scenario.write_text(SCENARIO)
    out = tmp_path / "out"
    run = subprocess.run(
        greenflag_cmd(
            "load", "run", str(scenario), "--host", app, "--vus", "3", "--duration", "4s", "--quiet",
            "--summary-json", str(out / "summary.json"), "--out", str(out / "series.jsonl"),
            "--html", str(out / "report.html"), "--junit", str(out / "junit.xml"),
        ),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [json.loads(line) for line in (out / "series.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())
    assert sum(line["http_reqs"] for line in lines) == summary["metrics"]["http_reqs"]["count"]
    with_rate = [line for line in lines if line.get("covered_s", 1) >= 0.5]
    with_requests = [line for line in lines if line["http_reqs"]]
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("2", "0")

    with chromium_page() as page:
        charts = _open(page, out / "report.html")
        assert set(charts) == {"rps", "latency", "errors", "vus"}  # no rollout: no weights chart
        assert charts["rps"]["series"] == {"rps": len(with_rate)}
        assert charts["latency"]["series"] == {key: len(with_requests) for key in ("p50", "p90", "p95", "p99")}
        assert charts["errors"]["series"] == {"error_rate": len(lines)}
        paths = page.locator('svg[data-chart="latency"] path[data-series]').count()
        assert paths == 4
        names = page.locator('[data-table="Requests by name"] td').all_text_contents()
        assert HOSTILE in names and "home" in names
        assert page.evaluate("window.__xss") is None
        thresholds = page.locator('[data-table="Thresholds"] tbody tr').count()
        assert thresholds == 2
        page.screenshot(path=str(tmp_path / "load-report.png"), full_page=True)
        assert page.errors == []


def test_the_report_of_a_rolled_back_release(tmp_path: Path) -> None:
    report = subprocess.run(
        greenflag_cmd(
            "report", str(DATA / "summary.json"), "--series", str(DATA / "series.jsonl"), "--rollout",
            str(DATA / "status.json"), "-o", str(tmp_path / "release.html"), "--title", "shop v2",
        ),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    status = json.loads((DATA / "status.json").read_text())
    with chromium_page() as page:
        charts = _open(page, tmp_path / "release.html")
        assert set(charts) == {"rps", "latency", "errors", "vus", "weights"}
        weights = charts["weights"]["series"]
        assert set(weights) == {"weight:v1", "weight:v2"}
        # one marker per step, analysis and rollback event, on every chart of the shared time axis
        marked = [e for e in status["events"] if e["kind"] in ("step", "analysis", "rollback", "promoted")]
        assert {chart["markers"] for chart in charts.values()} == {len(marked)}
        assert page.locator('svg[data-chart="weights"] line[data-kind="rollback"]').count() == 1
        alert = page.locator("[data-rollback]")
        assert alert.get_attribute("data-rollback") == "error_rate"
        assert "limit" in alert.inner_text()
        outcomes = page.locator('[data-table="Rollout steps"] tbody tr').all_inner_texts()
        assert any("rolled back" in row for row in outcomes)
        assert page.locator('[data-verdict="rollout"]').inner_text() == "rollout: v2 RolledBack"
        page.screenshot(path=str(tmp_path / "release-report.png"), full_page=True)
        assert page.errors == []


def test_bad_inputs_exit_2_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"v": 1, "t": 5}\n{oops\n')
    result = subprocess.run(
        greenflag_cmd("report", "--series", str(bad), "-o", str(tmp_path / "r.html")), capture_output=True, text=True
    )
    assert result.returncode == 2 and f"{bad}:2: not JSON" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run(
        greenflag_cmd("report", str(DATA / "series.jsonl"), "-o", str(tmp_path / "r.html")),
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2 and "not JSON" in result.stderr
    assert not (tmp_path / "r.html").exists()
