"""`greenflag load run URL` end to end against real servers on 127.0.0.1 (the CLI as a subprocess)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.load.counting_server import counting_server
from tests.support import free_port, greenflag_cmd


def run_load(args: list[str], tmp_path: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    summary = tmp_path / "summary.json"
    proc = subprocess.run(
        greenflag_cmd("load", "run", *args, "--summary-json", str(summary), "--quiet"),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    data = json.loads(summary.read_text()) if summary.exists() else {}
    return proc.returncode, data, proc.stdout + proc.stderr


def test_request_count_equals_what_the_server_answered(tmp_path: Path) -> None:
    with counting_server() as server:
        code, summary, out = run_load([server.url, "--vus", "8", "--duration", "2s"], tmp_path)
        served, received = server.count, server.received
    assert code == 0, out
    counted = summary["metrics"]["http_reqs"]["count"]
    assert counted > 100
    # the requests in flight when the duration ended finished within the graceful stop and were counted
    assert counted == served == received
    assert summary["metrics"]["http_req_failed"]["rate"] == 0.0
    assert summary["metrics"]["vus_max"]["value"] == 8
    assert summary["warnings"] == [] and summary["latency_lower_bound"] is False
    for key in ("min", "avg", "med", "p90", "p95", "p99", "max"):
        assert summary["metrics"]["http_req_duration"][key] >= 0
    assert summary["tool"] == "greenflag" and summary["ok"] is True


@pytest.mark.parametrize("model", [["--vus", "8", "--duration", "2s"], ["--rate", "200", "--duration", "2s"]])
def test_a_server_closing_idle_keep_alive_connections_costs_no_failed_requests(
    model: list[str], tmp_path: Path
) -> None:
    """The server closes every connection after one response without announcing it: the next request on that
    reused connection finds it closed and is sent again on a new one (idempotent GET), as browsers do."""
    with counting_server() as server:
        server.close_silently = True
        code, summary, out = run_load([server.url, *model], tmp_path)
        served, received = server.count, server.received
    assert code == 0, out
    assert summary["metrics"]["http_req_failed"]["fails"] == 0, summary["errors"]
    counted = summary["metrics"]["http_reqs"]["count"]
    assert counted > 100
    assert counted == served == received


@pytest.mark.parametrize("model", [["--vus", "6"], ["--rate", "40", "--vus", "4"]])
def test_a_slow_endpoint_is_counted_to_the_last_request(model: list[str], tmp_path: Path) -> None:
    """Every response takes 0.3 s, so every VU has a request in flight when the duration ends: the graceful
    stop lets them finish, greenflag counts them, and the server received exactly that many."""
    with counting_server() as server:
        server.delay = 0.3
        code, summary, out = run_load([server.url, *model, "--duration", "1s"], tmp_path)
        served, received = server.count, server.received
    assert code == 0, out
    assert summary["metrics"]["http_reqs"]["count"] == served == received > 0
    assert summary["metrics"]["interrupted_iterations"]["count"] == 0
    assert summary["executor"]["graceful_stop_s"] == 30.0
    assert ", graceful stop 30s\n" in out  # the plan line


@pytest.mark.parametrize("method", ["HEAD", "POST"])
def test_other_methods_complete(method: str, tmp_path: Path) -> None:
    """HEAD: a Content-Length but no body follows; POST: a body is sent (and is not retried on a closed
    connection, since it is not idempotent)."""
    with counting_server() as server:
        code, summary, out = run_load(
            [server.url, "--method", method, "--body", "x=1", "--vus", "2", "--iterations", "40", "--timeout", "5s"],
            tmp_path,
        )
        assert code == 0, out
        assert summary["metrics"]["http_reqs"]["count"] == 40 == server.count
        assert summary["metrics"]["http_req_failed"]["fails"] == 0


def test_iteration_budgets_are_exact(tmp_path: Path) -> None:
    with counting_server() as server:
        code, summary, out = run_load([server.url, "--vus", "4", "--iterations", "50"], tmp_path)
        assert code == 0, out
        assert summary["metrics"]["http_reqs"]["count"] == 50 == server.count
        code, summary, out = run_load(
            [server.url, "--executor", "per-vu-iterations", "--vus", "3", "--iterations", "7"], tmp_path
        )
        assert code == 0, out
        assert summary["metrics"]["iterations"]["count"] == 21
        assert server.count == 71


def test_a_server_stall_shows_in_latency_from_the_schedule(tmp_path: Path) -> None:
    """Open model, 200 req/s; after 300 requests the server holds every response for 1 s. The corrected
    latency (from the scheduled start) must show the stall at p99; duration must not hide it either."""
    with counting_server() as server:
        server.stall(1.0, after_requests=300)
        code, summary, out = run_load([server.url, "--rate", "200", "--duration", "4s"], tmp_path)
    assert code == 0, out
    metrics = summary["metrics"]
    assert metrics["http_req_latency"]["p99"] >= 800, metrics["http_req_latency"]
    assert metrics["http_req_duration"]["max"] >= 800, metrics["http_req_duration"]
    assert metrics["http_req_latency"]["p99"] >= metrics["http_req_duration"]["p99"]
    assert metrics["dropped_iterations"]["count"] == 0
    assert summary["executor"]["name"] == "constant-arrival-rate"
    assert 700 <= metrics["http_reqs"]["count"] <= 800


def test_dropped_iterations_are_counted_when_max_vus_are_busy(tmp_path: Path) -> None:
    """VUs run out: the summary says so as prominently as a crossed threshold (a ✗ line at the top, a stderr
    line, `warnings` and `latency_lower_bound` in the JSON), and that latency from the schedule is then a lower
    bound. The exit code stays 0: only a threshold (dropped_iterations: count==0) makes it fail."""
    summary_path = tmp_path / "summary.json"
    with counting_server() as server:
        server.stall(1.5, after_requests=50)
        args = [server.url, "--rate", "100", "--duration", "2.5s", "--vus", "2", "--max-vus", "5"]
        proc = subprocess.run(
            greenflag_cmd("load", "run", *args, "--summary-json", str(summary_path), "--quiet"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(summary_path.read_text())
    dropped = summary["metrics"]["dropped_iterations"]["count"]
    assert dropped > 50
    assert summary["metrics"]["vus_max"]["value"] == 5
    assert summary["latency_lower_bound"] is True
    [warning] = summary["warnings"]
    assert warning["id"] == "dropped_iterations" and warning["count"] == dropped
    assert "lower bound" in warning["message"]
    head = proc.stdout.split("  METRICS")[0]
    assert f"    ✗ dropped_iterations: {dropped} iterations dropped: all 5 VUs were busy" in head
    assert re.search(rf"✗ dropped_iterations\.+: {dropped}\n", proc.stdout), proc.stdout  # the metric line too
    assert proc.stderr.splitlines() == [f"greenflag: warning: dropped_iterations: {warning['message']}"]


def test_crossed_threshold_exits_99_and_reports_it(tmp_path: Path) -> None:
    with counting_server() as server:
        code, summary, out = run_load(
            [
                server.url,
                "--vus",
                "2",
                "--duration",
                "1s",
                "--threshold",
                "http_req_duration: p(95)<0.001",
                "--threshold",
                "http_req_failed: rate<0.01",
            ],
            tmp_path,
        )
    assert code == 99, out
    assert summary["ok"] is False
    assert summary["thresholds"]["http_req_duration"][0] == {
        "expr": "p(95)<0.001",
        "ok": False,
        "value": pytest.approx(summary["metrics"]["http_req_duration"]["p95"], rel=0.01),
    }
    assert summary["thresholds"]["http_req_failed"][0]["ok"] is True
    assert "thresholds crossed" in out


def test_unreachable_target_is_counted_not_a_usage_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    code, summary, out = run_load(
        [url, "--vus", "2", "--duration", "1s", "--threshold", "http_req_failed: rate<0.01"], tmp_path
    )
    assert code == 99, out
    assert summary["errors"].get("connect_refused", 0) == summary["metrics"]["http_reqs"]["count"] > 0
    assert summary["metrics"]["http_req_failed"]["rate"] == 1.0


def test_http_errors_are_failed_requests_by_class(tmp_path: Path) -> None:
    with counting_server() as server:
        server.status = 503
        code, summary, out = run_load([server.url, "--vus", "2", "--iterations", "20"], tmp_path)
    assert code == 0, out
    assert summary["errors"] == {"http_5xx": 20}
    assert summary["metrics"]["http_req_failed"] == {"rate": 1.0, "fails": 20, "passes": 0}


def test_tls_with_a_local_ca_and_a_wrong_host(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    good = ca.issue_cert("127.0.0.1")
    context = __import__("ssl").create_default_context(__import__("ssl").Purpose.CLIENT_AUTH)
    good.configure_cert(context)
    with counting_server(context) as server:
        env = {"SSL_CERT_FILE": str(ca_file)}
        code, summary, out = run_load([server.url, "--vus", "2", "--iterations", "10"], tmp_path, env)
        assert code == 0, out
        assert summary["metrics"]["http_reqs"]["count"] == 10
        assert summary["metrics"]["http_req_tls_handshaking"]["max"] > 0
        # -e sets the environment greenflag runs the scenario in, so it can point the CA store elsewhere too
        code, summary, out = run_load([server.url, "--iterations", "2", "-e", f"SSL_CERT_FILE={ca_file}"], tmp_path)
        assert code == 0, out
        assert summary["errors"] == {} and summary["metrics"]["http_reqs"]["count"] == 2
        wrong = server.url.replace("127.0.0.1", "localhost")
        code, summary, out = run_load([wrong, "--vus", "1", "--iterations", "3"], tmp_path, env)
        assert code == 0, out
        assert summary["errors"] == {"tls": 3}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["http://127.0.0.1:1/", "--duration", "10x"], "--duration '10x'"),
        (["ftp://127.0.0.1/"], "TARGET"),
        (["http://127.0.0.1:1/", "--header", "NoColon"], "--header 'NoColon'"),
        (["http://127.0.0.1:1/", "--threshold", "http_req_duration: p95<2"], "http_req_duration"),
        (["http://127.0.0.1:1/", "--threshold", "http_req_duraton: p(95)<2"], "no such metric"),
        (["http://127.0.0.1:1/", "--threshold", "http_req_failed: p(95)<2"], "p(N) applies to trends"),
        (["http://127.0.0.1:1/", "--executor", "warp-speed"], "--executor 'warp-speed'"),
        (["http://127.0.0.1:1/", "--executor", "ramping-vus"], "--stage"),
        (["http://127.0.0.1:1/", "--stage", "ten:5"], "--stage"),
        (["http://127.0.0.1:1/", "--rate", "-5"], "--rate"),
        (["missing-scenario.py"], "no such file"),
    ],
)
def test_bad_input_is_exit_2_with_one_clear_line(args: list[str], message: str) -> None:
    proc = subprocess.run(greenflag_cmd("load", "run", *args), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_sigint_stops_gracefully_and_still_writes_the_summary(tmp_path: Path) -> None:
    import signal

    from tests.support import wait_until

    summary = tmp_path / "summary.json"
    with counting_server() as server:
        proc = subprocess.Popen(
            greenflag_cmd(
                "load", "run", server.url, "--vus", "4", "--duration", "60s", "--quiet", "--summary-json", str(summary)
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_until(lambda: server.count > 200, timeout=30, what="traffic to arrive")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    data = json.loads(summary.read_text())
    assert data["aborted"] == "stopped by SIGINT"
    assert data["duration_s"] < 30
    assert data["metrics"]["http_reqs"]["count"] > 200


def test_a_second_sigint_ends_the_graceful_stop_at_once(tmp_path: Path) -> None:
    """Responses take a minute, the graceful stop is 40 s: the first SIGINT starts the graceful stop, another
    one interrupts the iterations still running (counted) and the summary is written."""
    import signal

    from tests.support import wait_until

    summary = tmp_path / "summary.json"
    with counting_server() as server:
        server.delay = 60.0
        cmd = greenflag_cmd(
            "load", "run", server.url, "--vus", "2", "--duration", "60s", "--graceful-stop", "40s", "--quiet",
            "--summary-json", str(summary),
        )  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_until(lambda: server.received >= 2, timeout=30, what="both requests to arrive")

            def interrupted() -> bool:
                proc.send_signal(signal.SIGINT)  # signals do not queue: send until one lands in the graceful stop
                return proc.poll() is not None

            wait_until(interrupted, timeout=20, interval=0.5, what="greenflag to exit on a second SIGINT")
            out, _ = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        received = server.received
    assert proc.returncode == 0, out
    data = json.loads(summary.read_text())
    assert data["aborted"] == "stopped by SIGINT"
    assert data["metrics"]["interrupted_iterations"]["count"] == 2
    assert data["metrics"]["http_reqs"]["count"] == received == 2
