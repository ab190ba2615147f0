"""Every Prometheus series greenflag exposes or expects: names, types, help texts, labels, and who writes them.

The alert rules, the Grafana dashboard, the runbooks and docs/operations.md are all built from this table, so a
series renamed here is renamed everywhere. Three sources:

- `router`: the embedded router's admin endpoint `GET /metrics` (bearer token), read from its stats at scrape
  time (`greenflag.traffic.embedded.metrics`; a test scrapes a real router and compares it with this table).
- `controller`: the rollout controller in `greenflag up`, served on the same router admin `GET /metrics` beside
  the router's series (phase, step, weights, analysis verdicts, rollbacks, threshold states), read from the journal
  at scrape time (`greenflag.ops.controller_metrics`; a test scrapes a real `greenflag up` during a rollout).
- `textfile`: files for node_exporter's textfile collector (`--collector.textfile.directory`), written
  atomically by greenflag commands given `--prom-file PATH` (a `.prom` file in that directory): backup freshness
  and restore drills (`greenflag check all`, `greenflag drill postgres|sqlite`) and certificate expiry
  (`greenflag check tls`, `greenflag check all`). `greenflag.ops.textfile` writes them.

Counters are named as prometheus-client registers them (`greenflag_router_requests`) and exposed with `_total`
(`Metric.sample`); histograms expose `_bucket`, `_sum` and `_count`.

CloudWatch: the controller publishes (contract, for the `deployment failures` alarm) the metric
`Rollbacks` (unit Count, dimension `Service`) in the namespace `Greenflag`, one datapoint of 1 per rollback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ALL",
    "ANALYSIS_MEASUREMENTS",
    "ANALYSIS_VERDICT",
    "BACKUP_NEWEST",
    "CLOUDWATCH_NAMESPACE",
    "CLOUDWATCH_ROLLBACKS",
    "CLOUDWATCH_SERVICE_DIMENSION",
    "CONTROLLER_LAST_TICK",
    "DRILL_LAST_RUN",
    "DRILL_OK",
    "DRILL_RPO",
    "DRILL_RTO",
    "DRILL_WRITES_LOST",
    "ROLLOUT_INFO",
    "ROLLOUT_PHASE",
    "ROLLOUT_PHASES",
    "ROLLOUT_PROMOTIONS",
    "ROLLOUT_ROLLBACKS",
    "ROLLOUT_STEP",
    "ROLLOUT_STEPS",
    "ROLLOUT_WEIGHT",
    "ROUTER_HISTOGRAM_BOUNDS_S",
    "ROUTER_IN_FLIGHT",
    "ROUTER_REQUESTS",
    "ROUTER_REQUEST_DURATION",
    "ROUTER_RESPONSES",
    "ROUTER_SYNTHETIC_REQUESTS",
    "ROUTER_TRANSPORT_ERRORS",
    "ROUTER_WEIGHT",
    "STATUS_CLASSES",
    "THRESHOLD_OK",
    "TLS_CERT_EXPIRY",
    "VERDICTS",
    "Metric",
    "by_name",
]

__pure__ = True

Kind = Literal["counter", "gauge", "histogram"]
Source = Literal["router", "controller", "textfile"]


@dataclass(frozen=True)
class Metric:
    name: str  # the family name, as registered with prometheus-client
    kind: Kind
    help: str
    labels: tuple[str, ...]
    source: Source
    writer: str  # the greenflag command or endpoint that exposes it
    unit: str = ""  # seconds, timestamp, ratio, … (for docs and dashboards)

    @property
    def sample(self) -> str:
        """The series name in queries: `_total` for counters; the family name otherwise."""
        return self.name + "_total" if self.kind == "counter" else self.name

    @property
    def bucket(self) -> str:
        return self.name + "_bucket"

    @property
    def count(self) -> str:
        return self.name + "_count"

    @property
    def sum(self) -> str:
        return self.name + "_sum"


ROUTER_ENDPOINT = "router admin GET /metrics"
CONTROLLER_ENDPOINT = "greenflag up: router admin GET /metrics"

# The router's latency histogram buckets, in seconds (upper bounds; +Inf beside them).
ROUTER_HISTOGRAM_BOUNDS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
ROLLOUT_PHASES = ("Healthy", "Progressing", "Paused", "Degraded", "RolledBack")
VERDICTS = ("Running", "Successful", "Failed", "Inconclusive", "Error")

# --- the embedded router ----------------------------------------------------------------------------------------
ROUTER_REQUESTS = Metric(
    "greenflag_router_requests", "counter", "Requests finished per backend", ("backend",), "router", ROUTER_ENDPOINT
)
ROUTER_RESPONSES = Metric(
    "greenflag_router_responses", "counter", "Responses per backend and status class", ("backend", "code"),
    "router", ROUTER_ENDPOINT,
)  # fmt: skip
ROUTER_TRANSPORT_ERRORS = Metric(
    "greenflag_router_transport_errors", "counter", "Requests that failed at the transport level", ("backend",),
    "router", ROUTER_ENDPOINT,
)  # fmt: skip
ROUTER_REQUEST_DURATION = Metric(
    "greenflag_router_request_duration_seconds", "histogram", "Request duration through the router", ("backend",),
    "router", ROUTER_ENDPOINT, "seconds",
)  # fmt: skip
ROUTER_WEIGHT = Metric("greenflag_router_weight", "gauge", "Configured weight", ("backend",), "router", ROUTER_ENDPOINT)
ROUTER_IN_FLIGHT = Metric(
    "greenflag_router_in_flight", "gauge", "Requests in flight", ("backend",), "router", ROUTER_ENDPOINT
)
ROUTER_SYNTHETIC_REQUESTS = Metric(
    "greenflag_router_synthetic_requests", "counter",
    "Requests of greenflag's analysis traffic per backend (counted in _requests_total too)", ("backend",),
    "router", ROUTER_ENDPOINT,
)  # fmt: skip

# --- the rollout controller (greenflag up, on the router admin's /metrics) ---------------------------------------
ROLLOUT_INFO = Metric(
    "greenflag_rollout_info", "gauge", "1 for the current (or last) rollout of a service",
    ("service", "version", "stable", "strategy"), "controller", CONTROLLER_ENDPOINT,
)  # fmt: skip
ROLLOUT_PHASE = Metric(
    "greenflag_rollout_phase", "gauge", "1 for the rollout's current phase, 0 for every other phase",
    ("service", "phase"), "controller", CONTROLLER_ENDPOINT,
)  # fmt: skip
ROLLOUT_STEP = Metric(
    "greenflag_rollout_step", "gauge", "Index of the current canary step (0-based)", ("service",), "controller",
    CONTROLLER_ENDPOINT,
)  # fmt: skip
ROLLOUT_STEPS = Metric(
    "greenflag_rollout_steps", "gauge", "Number of steps in the rollout's plan", ("service",), "controller",
    CONTROLLER_ENDPOINT,
)  # fmt: skip
ROLLOUT_WEIGHT = Metric(
    "greenflag_rollout_weight", "gauge", "Traffic weight the controller has applied, per backend (version)",
    ("service", "backend"), "controller", CONTROLLER_ENDPOINT,
)  # fmt: skip
ROLLOUT_ROLLBACKS = Metric(
    "greenflag_rollout_rollbacks", "counter", "Rollbacks (exported from 0 when the controller starts)", ("service",),
    "controller", CONTROLLER_ENDPOINT,
)  # fmt: skip
ROLLOUT_PROMOTIONS = Metric(
    "greenflag_rollout_promotions", "counter", "Promotions (exported from 0 when the controller starts)",
    ("service",), "controller", CONTROLLER_ENDPOINT,
)  # fmt: skip
ANALYSIS_VERDICT = Metric(
    "greenflag_analysis_verdict", "gauge", "1 for each analysis metric's latest verdict, 0 for the other verdicts",
    ("service", "metric", "verdict"), "controller", CONTROLLER_ENDPOINT,
)  # fmt: skip
ANALYSIS_MEASUREMENTS = Metric(
    "greenflag_analysis_measurements", "counter", "Analysis measurements taken, per metric and verdict",
    ("service", "metric", "verdict"), "controller", CONTROLLER_ENDPOINT,
)  # fmt: skip
THRESHOLD_OK = Metric(
    "greenflag_threshold_ok", "gauge", "1 while a load threshold holds, 0 once it is crossed",
    ("service", "metric", "threshold"), "controller", CONTROLLER_ENDPOINT,
)  # fmt: skip
CONTROLLER_LAST_TICK = Metric(
    "greenflag_controller_last_tick_timestamp_seconds", "gauge", "When the controller last completed a tick",
    ("service",), "controller", CONTROLLER_ENDPOINT, "timestamp",
)  # fmt: skip

# --- node_exporter textfile collector files (--prom-file PATH) ---------------------------------------------------
BACKUP_NEWEST = Metric(
    "greenflag_backup_newest_timestamp_seconds", "gauge",
    "When the newest restorable data was written (end of the newest backup, or the newest archived WAL)",
    ("service", "kind"), "textfile", "greenflag check all --prom-file", "timestamp",
)  # fmt: skip
DRILL_LAST_RUN = Metric(
    "greenflag_drill_last_run_timestamp_seconds", "gauge", "When the last restore drill finished", ("kind",),
    "textfile", "greenflag drill postgres|sqlite --prom-file", "timestamp",
)  # fmt: skip
DRILL_OK = Metric(
    "greenflag_drill_ok", "gauge", "1 when the last restore drill met its objectives, 0 when it missed them",
    ("kind",), "textfile", "greenflag drill postgres|sqlite --prom-file",
)  # fmt: skip
DRILL_RTO = Metric(
    "greenflag_drill_rto_seconds", "gauge", "Recovery time measured by the last drill", ("kind",), "textfile",
    "greenflag drill postgres|sqlite --prom-file", "seconds",
)  # fmt: skip
DRILL_RPO = Metric(
    "greenflag_drill_rpo_seconds", "gauge", "Recovery point (data lost, in time) measured by the last drill",
    ("kind",), "textfile", "greenflag drill postgres|sqlite --prom-file", "seconds",
)  # fmt: skip
DRILL_WRITES_LOST = Metric(
    "greenflag_drill_writes_lost", "gauge", "Acknowledged writes missing after the last drill's restore", ("kind",),
    "textfile", "greenflag drill postgres|sqlite --prom-file",
)  # fmt: skip
TLS_CERT_EXPIRY = Metric(
    "greenflag_tls_certificate_expiry_timestamp_seconds", "gauge",
    "Earliest notAfter among the certificates the server presented", ("target", "sni"), "textfile",
    "greenflag check tls|all --prom-file", "timestamp",
)  # fmt: skip

ALL: tuple[Metric, ...] = (
    ROUTER_REQUESTS, ROUTER_RESPONSES, ROUTER_TRANSPORT_ERRORS, ROUTER_REQUEST_DURATION, ROUTER_WEIGHT,
    ROUTER_IN_FLIGHT, ROUTER_SYNTHETIC_REQUESTS,
    ROLLOUT_INFO, ROLLOUT_PHASE, ROLLOUT_STEP, ROLLOUT_STEPS, ROLLOUT_WEIGHT, ROLLOUT_ROLLBACKS, ROLLOUT_PROMOTIONS,
    ANALYSIS_VERDICT, ANALYSIS_MEASUREMENTS, THRESHOLD_OK, CONTROLLER_LAST_TICK,
    BACKUP_NEWEST, DRILL_LAST_RUN, DRILL_OK, DRILL_RTO, DRILL_RPO, DRILL_WRITES_LOST, TLS_CERT_EXPIRY,
)  # fmt: skip

CLOUDWATCH_NAMESPACE = "Greenflag"
CLOUDWATCH_ROLLBACKS = "Rollbacks"
CLOUDWATCH_SERVICE_DIMENSION = "Service"


def by_name(name: str) -> Metric:
    """The metric whose family or sample name is `name`; KeyError otherwise."""
    for metric in ALL:
        if name in (metric.name, metric.sample):
            return metric
    raise KeyError(name)
