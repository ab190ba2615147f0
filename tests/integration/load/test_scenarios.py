"""Several scenarios in one run (k6's `options.scenarios`), against a real counting server on 127.0.0.1: each with
its own executor, start time, tags and User class (Python) or flows (YAML), running at the same time; every metric
tagged `scenario`, so per-scenario counts and thresholds (`http_reqs{scenario:pages}`) hold — in one process and
split over two workers alike. Bad scenario definitions are refused before any traffic (exit 2, file and key)."""

from __future__ import annotations

import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from greenflag.errors import UsageError
from greenflag.load.engine.runner import run_load
from greenflag.load.run import LoadRequest, prepare
from tests.integration.load.counting_server import CountingServer
from tests.integration.load.test_end_of_run import settled

pytestmark = pytest.mark.timeout(120)

SCRIPT = """
from greenflag import User, task

options = {
    "scenarios": {
        "api": {"executor": "constant-arrival-rate", "rate": 20, "duration": "2s", "preAllocatedVUs": 2,
                "exec": "Api", "tags": {"kind": "machine"}},
        "pages": {"executor": "per-vu-iterations", "vus": 3, "iterations": 5, "exec": "Pages",
                  "startTime": "500ms", "gracefulStop": "10s"},
    },
    "thresholds": {
        "http_reqs{scenario:pages}": ["count==30"],
        "iterations{scenario:api}": ["count==40"],
        "http_reqs{kind:machine}": ["count==40"],
        "http_req_duration{scenario:pages}": ["p(95)<2000"],
    },
}

class Api(User):
    @task
    async def call(self):
        await self.http.get("/api", name="api")

class Pages(User):
    @task
    async def visit(self):
        await self.http.get("/page/one", name="page one")
        await self.http.get("/page/two", name="page two")
"""

YAML = """
config:
  options: {thresholds: {"iterations{scenario:buyers}": ["count==12"]}}
scenarios:
  readers: {executor: constant-vus, vus: 2, duration: 1s, exec: read}
  buyers: {executor: shared-iterations, vus: 3, iterations: 12, exec: [buy], startTime: 300ms}
flows:
  - name: read
    steps:
      - get: {url: /read}
  - name: buy
    steps:
      - get: {url: /cart}
      - post: {url: /buy, json: {item: 1}}
"""


async def run(path: Path, server: CountingServer, **options: Any) -> dict[str, Any]:
    make, config = prepare(LoadRequest(target=str(path), host=server.url, progress=False, **options))
    result = await run_load(make, config)
    return result.summary


def paths(server: CountingServer) -> Counter[str]:
    return Counter(line.split()[1].decode() for line in server.request_lines)


@pytest.mark.parametrize("workers", [1, 2])
async def test_two_scenarios_with_different_executors_at_once(
    server: CountingServer, tmp_path: Path, workers: int
) -> None:
    script = tmp_path / "mixed.py"
    script.write_text(textwrap.dedent(SCRIPT))
    started = time.monotonic()
    summary = await run(script, server, workers=workers)
    settled(server)
    assert time.monotonic() - started < 30
    # the server saw each scenario's requests: 40 API calls (20/s for 2 s), 3 VUs × 5 iterations × 2 pages
    assert paths(server) == {"/api": 40, "/page/one": 15, "/page/two": 15}
    scenarios = summary["scenarios"]
    assert scenarios["api"]["http_reqs"]["count"] == 40 and scenarios["api"]["iterations"]["count"] == 40
    assert scenarios["pages"]["http_reqs"]["count"] == 30 and scenarios["pages"]["iterations"]["count"] == 15
    assert scenarios["api"]["executor"] == "constant-arrival-rate" and scenarios["pages"]["start_time_s"] == 0.5
    assert scenarios["api"]["tags"] == {"kind": "machine"} and scenarios["pages"]["exec"] == "Pages"
    assert scenarios["pages"]["graceful_stop_s"] == 10.0
    assert summary["metrics"]["http_reqs"]["count"] == server.received == 70
    assert summary["metrics"]["iterations"]["count"] == 55
    assert summary["executor"]["name"] == "scenarios" and summary["ok"] is True, summary["thresholds"]
    assert all(entry[0]["ok"] for entry in summary["thresholds"].values())
    assert summary["by_name"]["page two"]["http_reqs"]["count"] == 15
    if workers == 2:
        assert [w["status"] for w in summary["workers"]["each"]] == ["finished", "finished"]
    else:
        assert "workers" not in summary


async def test_a_scenario_starts_at_its_start_time(server: CountingServer, tmp_path: Path) -> None:
    script = tmp_path / "late.py"
    script.write_text(textwrap.dedent(SCRIPT).replace('"startTime": "500ms"', '"startTime": "1500ms"'))
    await run(script, server)
    settled(server)
    first_api = min(t for t, line in zip(server.received_at, server.request_lines, strict=True) if b"/api" in line)
    first_page = min(t for t, line in zip(server.received_at, server.request_lines, strict=True) if b"/page" in line)
    assert 1.3 < first_page - first_api < 2.5


@pytest.mark.parametrize("workers", [1, 2])
async def test_yaml_scenarios_run_their_flows(server: CountingServer, tmp_path: Path, workers: int) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(YAML)
    summary = await run(path, server, workers=workers)
    settled(server)
    seen = paths(server)
    assert seen["/cart"] == seen["/buy"] == 12 and seen["/read"] > 0
    assert summary["scenarios"]["buyers"]["iterations"]["count"] == 12
    assert summary["scenarios"]["readers"]["http_reqs"]["count"] == seen["/read"]
    assert summary["ok"] is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SCRIPT.replace('"exec": "Api"', '"exec": "Nobody"'), "options.scenarios.api.exec: no User class 'Nobody'"),
        (SCRIPT.replace('"rate": 20,', '"rate": 20, "vus": 3,'), "options.scenarios.api.vus: not an option of"),
        (SCRIPT.replace('"scenarios": {', '"vus": 2, "scenarios": {'), "cannot be combined with vus"),
    ],
)
def test_bad_scenarios_are_refused_before_any_traffic(
    server: CountingServer, tmp_path: Path, text: str, message: str
) -> None:
    script = tmp_path / "bad.py"
    script.write_text(textwrap.dedent(text))
    with pytest.raises(UsageError, match=message) as caught:
        prepare(LoadRequest(target=str(script), host=server.url, progress=False))
    assert str(script) in str(caught.value)
    assert server.received == 0


def test_executor_options_on_the_command_line_do_not_override_scenarios(server: CountingServer, tmp_path: Path) -> None:
    script = tmp_path / "mixed.py"
    script.write_text(textwrap.dedent(SCRIPT))
    with pytest.raises(UsageError, match=r"--vus: .* defines scenarios"):
        prepare(LoadRequest(target=str(script), host=server.url, vus=5))


def test_yaml_scenario_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(YAML.replace("exec: read", "exec: nothing"))
    with pytest.raises(UsageError, match=r"shop.yaml:5: scenarios.readers.exec: no flow named 'nothing'"):
        prepare(LoadRequest(target=str(path), host="http://127.0.0.1:1"))
    path.write_text(YAML.replace("vus: 2, duration", "rate: 2, duration"))
    with pytest.raises(UsageError, match=r"shop.yaml:5: scenarios.readers.rate: not an option of constant-vus"):
        prepare(LoadRequest(target=str(path), host="http://127.0.0.1:1"))
