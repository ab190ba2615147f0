"""`greenflag ops grafana` against a real Prometheus scraping a real `greenflag router serve` (two demo-app
backends, one failing 20 % of its requests) and an exporter serving the controller's and the textfile series in
the shape `greenflag.ops.metric_names` defines (the controller's own /metrics comes later; the test serves its
contract). Every PromQL expression of the dashboard runs without error and returns data; the router's /metrics
matches the metric-name table."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from greenflag.demo.process import run_demo_app
from greenflag.ops import metric_names as m
from greenflag.ops.textfile import Sample, render_textfile
from tests.servers import prometheus_server, scrape_job
from tests.support import free_port, http_get, start_process, wait_until

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs the prometheus Debian package")
NOW = time.time()
CONTROLLER_SAMPLES = [
    Sample(m.ROLLOUT_INFO, {"service": "shop", "version": "v2", "stable": "v1", "strategy": "canary"}, 1),
    *[Sample(m.ROLLOUT_PHASE, {"service": "shop", "phase": p}, 1 if p == "Progressing" else 0)
      for p in m.ROLLOUT_PHASES],
    Sample(m.ROLLOUT_STEP, {"service": "shop"}, 2), Sample(m.ROLLOUT_STEPS, {"service": "shop"}, 5),
    Sample(m.ROLLOUT_WEIGHT, {"service": "shop", "backend": "v1"}, 90),
    Sample(m.ROLLOUT_WEIGHT, {"service": "shop", "backend": "v2"}, 10),
    Sample(m.ROLLOUT_ROLLBACKS, {"service": "shop"}, 1), Sample(m.ROLLOUT_PROMOTIONS, {"service": "shop"}, 3),
    *[Sample(m.ANALYSIS_VERDICT, {"service": "shop", "metric": "error_rate", "verdict": v},
             1 if v == "Successful" else 0) for v in m.VERDICTS],
    Sample(m.ANALYSIS_MEASUREMENTS, {"service": "shop", "metric": "error_rate", "verdict": "Successful"}, 12),
    Sample(m.THRESHOLD_OK, {"service": "shop", "metric": "http_req_failed", "threshold": "rate<0.01"}, 1),
    Sample(m.CONTROLLER_LAST_TICK, {"service": "shop"}, NOW),
    Sample(m.BACKUP_NEWEST, {"service": "shop", "kind": "postgres"}, NOW - 60),
    Sample(m.DRILL_LAST_RUN, {"kind": "postgres"}, NOW - 3600), Sample(m.DRILL_OK, {"kind": "postgres"}, 1),
    Sample(m.DRILL_RTO, {"kind": "postgres"}, 41.5), Sample(m.DRILL_RPO, {"kind": "postgres"}, 0.4),
    Sample(m.DRILL_WRITES_LOST, {"kind": "postgres"}, 0),
    Sample(m.TLS_CERT_EXPIRY, {"target": "shop.example:443", "sni": "shop.example"}, NOW + 40 * 86400),
]  # fmt: skip


@pytest.fixture(scope="module")
def exporter() -> Iterator[str]:
    body = render_textfile(CONTROLLER_SAMPLES).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def stack(exporter: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("grafana")
    listen, admin = free_port(), free_port()
    token = tmp / "token"
    with run_demo_app("v1") as blue, run_demo_app("v2", ["--error-rate", "0.2"]) as green:
        router = [sys.executable, "-m", "greenflag", "router", "serve", "--listen", f"127.0.0.1:{listen}",
                  "--backend", f"blue={blue.url}", "--backend", f"green={green.url}", "--weight", "blue=50",
                  "--weight", "green=50", "--admin", f"127.0.0.1:{admin}",
                  "--admin-token-file", str(token)]
        with start_process(router, ready_url=f"http://127.0.0.1:{admin}/healthz", timeout=30):
            jobs = [scrape_job("greenflag-router", f"127.0.0.1:{admin}", token_file=token),
                    scrape_job("greenflag-controller", exporter)]  # fmt: skip
            with prometheus_server(tmp, jobs) as prometheus:
                stop = threading.Event()

                def traffic() -> None:  # ~20 requests/s to loopback, at most 4000 of them
                    for _ in range(4000):
                        if stop.wait(0.05):
                            return
                        http_get(f"http://127.0.0.1:{listen}/")

                sender = threading.Thread(target=traffic, daemon=True)
                sender.start()
                try:
                    yield {"prometheus": prometheus, "admin": f"http://127.0.0.1:{admin}",
                           "token": token.read_text().strip()}  # fmt: skip
                finally:
                    stop.set()
                    sender.join(timeout=10)


def query(base: str, expr: str) -> dict[str, Any]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, body = http_get(url, timeout=10)
    data: dict[str, Any] = json.loads(body)
    assert status == 200 and data["status"] == "success", (expr, data)
    return data


def substitute(expr: str) -> str:
    for var, value in (("$__rate_interval", "1m"), ("$__range", "5m"), ("$job", ".+"), ("$service", ".+")):
        expr = expr.replace(var, value)
    return expr


def dashboard_model(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "dashboard.json"
    result = subprocess.run([sys.executable, "-m", "greenflag", "ops", "grafana", *args, "-o", str(out)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(out.read_text())
    return model


def test_dashboard_structure(tmp_path: Path) -> None:
    from greenflag.ops.grafana import SCHEMA_VERSION, expressions

    model = dashboard_model(tmp_path, "-f", str(ROOT / "examples" / "greenflag.yaml"))
    assert model["schemaVersion"] == SCHEMA_VERSION and model["uid"] == "greenflag-contact-app"
    panels = model["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    titles = [p["title"] for p in panels if p["type"] != "row"]
    for title in ("Request rate", "Error rate", "Latency p50 / p95 / p99", "Router weights", "Phase", "Step",
                  "Rollbacks", "Controller weights", "Analysis verdicts", "Backup age", "Certificate days left"):
        assert title in titles  # fmt: skip
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"} and panel["targets"]
    # Panels never overlap.
    cells = [(x, y) for p in panels for x in range(p["gridPos"]["x"], p["gridPos"]["x"] + p["gridPos"]["w"])
             for y in range(p["gridPos"]["y"], p["gridPos"]["y"] + p["gridPos"]["h"])]  # fmt: skip
    assert len(cells) == len(set(cells))
    error = next(p for p in panels if p["title"] == "Error rate")
    assert error["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.01  # the spec's limit
    names = [a["name"] for a in model["annotations"]["list"]]
    assert "Rollbacks" in names
    assert {v["name"] for v in model["templating"]["list"]} == {"datasource", "job", "service"}
    assert len(expressions(model)) >= 20


def test_every_query_runs_and_returns_data(stack: dict[str, str], tmp_path: Path) -> None:
    from greenflag.ops.grafana import expressions

    base = stack["prometheus"]
    model = dashboard_model(tmp_path)

    def scraped() -> bool:
        up = query(base, "sum(up)")["data"]["result"]
        green_5xx = 'sum(rate(greenflag_router_responses_total{backend="green",code="5xx"}[1m]))'
        rate = query(base, green_5xx)["data"]["result"]
        twice = query(base, "count_over_time(greenflag_rollout_rollbacks_total[1m]) >= 2")["data"]["result"]
        return bool(up and float(up[0]["value"][1]) == 2 and rate and float(rate[0]["value"][1]) > 0 and twice)

    wait_until(scraped, timeout=60, interval=0.5,
               what="prometheus to scrape the router (with errors from green) and the exporter twice")
    empty = []
    for where, expr in expressions(model):
        result = query(base, substitute(expr))["data"]["result"]
        if not result and not where.startswith("annotation"):
            empty.append(where)
    assert empty == [], f"panels with no data: {empty}"
    errors = query(base, substitute(next(e for w, e in expressions(model) if w.startswith("panel 'Error rate'"))))
    by_backend = {r["metric"]["backend"]: float(r["value"][1]) for r in errors["data"]["result"]}
    assert by_backend["green"] > by_backend["blue"]
    _, body = http_get(f"{base}/api/v1/label/job/values?match[]=greenflag_router_requests_total")
    assert json.loads(body)["data"] == ["greenflag-router"]  # the `job` variable's query


def test_router_metrics_match_the_table(stack: dict[str, str]) -> None:
    status, body = http_get(stack["admin"] + "/metrics", headers={"Authorization": f"Bearer {stack['token']}"})
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    router = [x for x in m.ALL if x.source == "router"]
    assert set(families) == {x.name for x in router}
    for metric in router:
        family = families[metric.name]
        assert family.type == metric.kind and family.documentation == metric.help
        labels = {k for s in family.samples for k in s.labels if k != "le"}
        # a series with no sample yet (no analysis traffic in this stack: synthetic requests) has no labels to show
        assert labels == (set(metric.labels) if family.samples else set()), metric.name
    bounds = sorted({float(s.labels["le"]) for s in families[m.ROUTER_REQUEST_DURATION.name].samples
                     if "le" in s.labels and s.labels["le"] != "+Inf"})  # fmt: skip
    assert tuple(bounds) == m.ROUTER_HISTOGRAM_BOUNDS_S
    codes = {s.labels["code"] for s in families[m.ROUTER_RESPONSES.name].samples}
    assert codes == set(m.STATUS_CLASSES)
