"""The metric-name table, the limits read from a spec, and the textfile writer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from greenflag.analysis.verdicts import Verdict
from greenflag.errors import UsageError
from greenflag.ops import metric_names as m
from greenflag.ops.limits import DEFAULTS, human_duration, limits_from_spec
from greenflag.ops.textfile import Sample, backup_samples, drill_samples, render_textfile, tls_samples, write_textfile
from greenflag.rollout.model import Phase
from greenflag.spec import Spec
from greenflag.traffic.embedded.stats import BackendSeries


def test_names_are_unique_prefixed_and_consistent() -> None:
    names = [x.name for x in m.ALL]
    assert len(names) == len(set(names)) and all(n.startswith("greenflag_") for n in names)
    assert all(not x.name.endswith("_total") for x in m.ALL)  # counters get _total when exposed
    assert m.by_name("greenflag_router_requests_total") is m.ROUTER_REQUESTS
    assert set(m.ROLLOUT_PHASES) == {str(p) for p in Phase}
    assert set(m.VERDICTS) == {str(v) for v in Verdict}
    assert tuple(b / 1000.0 for b in BackendSeries.PROM_BOUNDS_MS) == m.ROUTER_HISTOGRAM_BOUNDS_S
    assert all(x.unit == "timestamp" for x in m.ALL if x.name.endswith("_timestamp_seconds"))


def spec(**extra: object) -> Spec:
    platform = {"command": "greenflag demo-app --port {port} --version {version}"}
    return Spec.model_validate(
        {"service": "s", "platform": platform, "strategy": {"canary": {"steps": [{"set_weight": 100}]}}, **extra}
    )


def test_limits_come_from_the_spec() -> None:
    assert limits_from_spec(None) == DEFAULTS and limits_from_spec(spec()) == DEFAULTS
    analysed = limits_from_spec(spec(analysis={"metrics": [
        {"name": "a", "query": "error_rate", "failure_condition": "result > 0.05"},
        {"name": "b", "query": " error_rate ", "failure_condition": "result >= 0.02"},
        {"name": "c", "query": "p95_ms", "success_condition": "result < 800"},
        {"name": "d", "provider": "prometheus", "query": "error_rate", "failure_condition": "result > 0.0001"},
        {"name": "e", "query": "p99_ms", "failure_condition": "result > 2000 and result < 9"},
    ]}))  # fmt: skip
    assert analysed.error_rate.value == 0.02 and analysed.error_rate.source.startswith("analysis.metrics[1] (b)")
    assert analysed.latency_s == {0.95: analysed.latency_s[0.95]} and analysed.latency_s[0.95].value == 0.8
    loaded = limits_from_spec(
        spec(
            load={
                "thresholds": {"http_req_failed": ["rate<0.005"], "http_req_duration": ["p(99)<1500", "p(95) <= 900"]}
            }
        )
    )
    assert loaded.error_rate.value == 0.005 and loaded.latency_s[0.99].value == 1.5
    assert loaded.latency_s[0.95].value == 0.9
    backups = [
        {"directory": "/b", "max_age": "5m", "drills": {"max_age": "30d"}},
        {"directory": "/c", "max_age": "1m", "drills": {"max_age": "168h"}},
    ]
    ready = limits_from_spec(spec(readiness={"backups": backups}))
    assert ready.rpo_s.value == 60 and ready.rpo_s.source == "readiness.backups[1].max_age"
    assert ready.drill_max_age_s.value == 7 * 86400
    assert ready.drill_max_age_s.source == "readiness.backups[1].drills.max_age"
    over = DEFAULTS.override(error_rate=0.001, p95_s=0.5, cert_days=30)
    assert over.error_rate.source == "--error-rate" and over.latency_s[0.95].value == 0.5 and over.cert_days.value == 30


def test_human_durations() -> None:
    assert [human_duration(v) for v in (0.25, 3, 90, 300, 5400, 86400, 30 * 86400)] == [
        "250 ms", "3 s", "90 s", "5 min", "90 min", "1 day", "30 days"]  # fmt: skip


def test_textfile_is_valid_exposition_and_written_atomically(tmp_path: Path) -> None:
    samples = [
        *backup_samples("shop", "postgres", 1700000000.0),
        *tls_samples("shop.example:443", "shop.example", 2e9),
        *drill_samples("postgres", ok=False, finished_at=1700000100.0, rto_s=41.0, rpo_s=None, writes_lost=3),
    ]
    text = render_textfile(samples)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families[m.BACKUP_NEWEST.name].samples[0].labels == {"service": "shop", "kind": "postgres"}
    assert families[m.DRILL_OK.name].samples[0].value == 0 and m.DRILL_RPO.name not in families
    assert families[m.DRILL_WRITES_LOST.name].samples[0].value == 3
    path = tmp_path / "greenflag.prom"
    write_textfile(path, samples)
    assert path.read_text() == text and [p.name for p in tmp_path.iterdir()] == ["greenflag.prom"]
    if shutil.which("promtool"):
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        assert lint.returncode == 0, lint.stdout + lint.stderr
    with pytest.raises(UsageError, match="--prom-file"):
        write_textfile(tmp_path / "greenflag.prom" / "sub.prom", samples)
    with pytest.raises(ValueError, match="labels must be"):
        render_textfile([Sample(m.BACKUP_NEWEST, {"service": "s"}, 1.0)])
