"""The live dashboard in headless Chromium while a real load run goes on (`load run --dashboard`): the page gets
the model, then new intervals over Server-Sent Events, and redraws with more points each time; at the end it
says the run finished. `greenflag dashboard --series` follows a file another process is writing. Screenshots are
kept in the test's tmp dir."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenflag.demo.process import run_demo_app
from tests.browser import chromium_page, need_chromium, wait_js
from tests.support import free_port, greenflag_cmd, http_get, wait_until

pytestmark = [need_chromium(), pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def app() -> Iterator[str]:
    with run_demo_app("v1") as running:
        yield running.url


def _dashboard_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        match = re.search(r"live dashboard on (http://127\.0\.0\.1:\d+/)", line)
        if match:
            return match.group(1)
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"no dashboard URL (exit {proc.poll()})")


def _points(page: object) -> int:
    return int(page.evaluate("(GF.charts.rps && GF.charts.rps.series.rps) || 0"))  # type: ignore[attr-defined]


def test_the_page_redraws_as_intervals_arrive_over_sse(app: str, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        greenflag_cmd(
            "load", "run", app + "/api/items", "--rate", "30", "--duration", "8s", "--quiet", "--dashboard",
            "--html", str(tmp_path / "report.html"),
        ),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        url = _dashboard_url(proc)
        assert url.startswith("http://127.0.0.1:")
        with chromium_page() as page:
            page.goto(url)
            wait_js(page, "window.GF && GF.source && GF.source.readyState === 1", timeout=10)
            wait_js(page, "GF.charts.rps && GF.charts.rps.series.rps >= 1", timeout=15)
            first, updates = _points(page), int(page.evaluate("GF.updates"))
            page.screenshot(path=str(tmp_path / "dashboard-live.png"), full_page=True)
            # a later interval arrives over SSE and the page redraws with one more point
            wait_js(page, f"GF.charts.rps.series.rps > {first}", timeout=15)
            assert int(page.evaluate("GF.updates")) > updates
            assert page.locator("#gf-live").inner_text() == "live"
            model = json.loads(http_get(url + "model")[1])
            assert model["live"] is True and model["load"]["points"]
            wait_js(page, 'document.getElementById("gf-live").textContent === "finished"', timeout=30)
            final = _points(page)
            assert final >= 5
            assert page.locator('[data-table="Thresholds"]').count() == 0  # none given
            assert page.locator('[data-card="requests"] .gf-card-value').inner_text() != "–"
            page.screenshot(path=str(tmp_path / "dashboard-finished.png"), full_page=True)
            assert page.errors == []
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert (tmp_path / "report.html").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_greenflag_dashboard_follows_a_series_file(tmp_path: Path) -> None:
    series = tmp_path / "series.jsonl"
    port = free_port()
    proc = subprocess.Popen(
        greenflag_cmd("dashboard", "--series", str(series), "--port", str(port)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert _dashboard_url(proc) == f"http://127.0.0.1:{port}/"
        data = Path(__file__).with_name("data") / "release" / "series.jsonl"
        lines = data.read_text().splitlines()
        with series.open("w") as handle:  # written the way `load run --out` writes: a line at a time
            handle.write(lines[0] + "\n" + lines[1][:40])
            handle.flush()

            def count() -> int:
                model = json.loads(http_get(f"http://127.0.0.1:{port}/model")[1])
                return len(model["load"]["points"]) if model["load"] else 0

            wait_until(lambda: count() == 1, timeout=10, what="the first line")
            handle.write(lines[1][40:] + "\n" + "\n".join(lines[2:]) + "\n")
            handle.flush()
            wait_until(lambda: count() == len(lines), timeout=10, what="every line, the split one once")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(20)
    assert proc.returncode == 0


def test_dashboard_needs_something_to_follow() -> None:
    result = subprocess.run(greenflag_cmd("dashboard"), capture_output=True, text=True)
    assert result.returncode == 2 and "nothing to follow" in result.stderr
