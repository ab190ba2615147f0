"""`--backend ray`: the workers as Ray actors on a local Ray instance (2 CPUs, no dashboard, node address
127.0.0.1) that this test starts — the same merge and thresholds as local workers: counts equal the server's,
an open-model rate splits exactly between the actors, a threshold crossed only on the merged data fails the run,
several scenarios run on the actors, a killed actor is reported and stops the run.

Ray's servers (GCS, raylet, workers) listen on every interface of their machine whatever the node address, so the
job (`ray_job.py`) runs in a network namespace of its own that has only loopback (`unshare -n`): nothing it starts
is reachable from outside this machine. Where Ray is not installed or no such namespace can be made, the test is
skipped and says why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.timeout(300)


def _namespace_problem() -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare (util-linux) and ip (iproute2) are needed to give Ray a loopback-only network namespace"
    done = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if done.returncode != 0:
        return f"cannot create a network namespace here ({done.stderr.strip()}): Ray would listen on every interface"
    return None


@pytest.fixture(scope="module")
def ray_job() -> dict[str, dict[str, Any]]:
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'greenflag[ray]')")
    problem = _namespace_problem()
    if problem is not None:
        pytest.skip(problem)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RAY_USAGE_STATS_ENABLED": "0"}
    script = f"ip link set lo up && exec {sys.executable} {ROOT / 'tests/integration/load/ray_job.py'}"
    started = time.monotonic()
    done = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=280)
    cases = {}
    for line in done.stdout.splitlines():
        if line.startswith('{"case"'):
            data = json.loads(line)
            cases[data.pop("case")] = data
    print(f"Ray job: {time.monotonic() - started:.1f} s in all, Ray started in {cases.get('ray_started')}")
    assert done.returncode == 0, done.stderr[-3000:]
    return cases


def test_ray_starts_with_two_cpus(ray_job: dict[str, dict[str, Any]]) -> None:
    assert ray_job["ray_started"]["cpus"] == 2.0


def test_an_open_model_rate_splits_exactly_between_ray_actors(ray_job: dict[str, dict[str, Any]]) -> None:
    rate = ray_job["rate"]
    assert rate["http_reqs"] == rate["received"] == 80
    assert rate["workers"]["backend"] == "ray"
    assert [w["http_reqs"] for w in rate["workers"]["each"]] == [40, 40]
    assert [w["status"] for w in rate["workers"]["each"]] == ["finished", "finished"]


def test_a_threshold_crossed_only_on_the_merged_data_fails_the_run(ray_job: dict[str, dict[str, Any]]) -> None:
    threshold = ray_job["threshold"]
    assert [w["http_reqs"] for w in threshold["workers"]["each"]] == [20, 20]
    assert threshold["thresholds"]["http_reqs"] == [{"expr": "count<30", "ok": False, "value": 40.0}]
    assert threshold["ok"] is False


def test_scenarios_on_ray_actors(ray_job: dict[str, dict[str, Any]]) -> None:
    case = ray_job["scenarios"]
    assert case["http_reqs"] == case["received"] == 26  # 20 API calls and 2 VUs × 3 pages
    assert case["scenarios"]["api"]["http_reqs"]["count"] == 20
    assert case["scenarios"]["pages"]["iterations"]["count"] == 6
    assert case["workers"]["count"] == 2  # --workers auto: the cluster's 2 CPUs


def test_a_killed_actor_is_reported_and_stops_the_run(ray_job: dict[str, dict[str, Any]]) -> None:
    killed = ray_job["killed"]
    statuses = [w["status"] for w in killed["workers"]["each"]]
    assert statuses == ["stopped", "died"] and killed["workers"]["failed"] == 1
    assert "died (Ray: " in killed["failures"][0] and "died (Ray: " in killed["aborted"]
    assert [w["id"] for w in killed["warnings"]] == ["worker_failed"]
    assert killed["duration_s"] < 10
    assert 0 < killed["http_reqs"] <= killed["received"]
