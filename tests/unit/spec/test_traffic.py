"""`analysis.traffic` and `analysis.detect`: what loads, and every refusal naming file, line and key path. The
10.0.0.1 URL is a string the loader refuses: nothing is sent to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenflag.config import load_spec
from greenflag.errors import ConfigError

BASE = """\
service: web
{router}
platform: {{command: "web --port {{port}}"}}
strategy: {{canary: {{steps: [{{set_weight: 10}}, {{analysis: {{duration: 20s}}}}]}}}}
analysis:
  interval: 500ms
{analysis}
"""
HAPROXY = "router: {kind: haproxy, socket: /tmp/admin.sock, backend: app, servers: {blue: s_blue, green: s_green}}"
NGINX = (
    "router: {kind: nginx, upstream_file: /tmp/up.conf, upstream: app, "
    'servers: {blue: "127.0.0.1:9001", green: "127.0.0.1:9002"}, status_url: "http://127.0.0.1:8081/status"}'
)


def load(tmp_path: Path, analysis: str, router: str = "router: {kind: embedded}") -> object:
    path = tmp_path / "greenflag.yaml"
    path.write_text(BASE.format(router=router, analysis=analysis))
    return load_spec(path)


def refused(tmp_path: Path, analysis: str, router: str = "router: {kind: embedded}") -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, analysis, router)
    return "\n".join(info.value.problems)


def test_defaults_and_both_sources(tmp_path: Path) -> None:
    spec = load(tmp_path, "  traffic: {urls: [/, /about]}")
    traffic = spec.analysis.traffic  # type: ignore[attr-defined]
    assert (traffic.rate, traffic.max_rate, traffic.judge, traffic.duration) == (10.0, 200.0, "both", None)
    assert traffic.while_analysing and spec.analysis.judge == "both"  # type: ignore[attr-defined]
    spec = load(tmp_path, "  traffic: {journeys: journeys.yaml, rate: 5, duration: 20s, judge: synthetic}")
    traffic = spec.analysis.traffic  # type: ignore[attr-defined]
    assert (traffic.journeys, traffic.duration, spec.analysis.judge) == ("journeys.yaml", 20.0, "synthetic")  # type: ignore[attr-defined]
    assert load(tmp_path, "  traffic: {urls: [/], duration: while-analysing}").analysis.traffic.duration is None  # type: ignore[attr-defined]
    assert load(tmp_path, "").analysis.judge == "both"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("analysis", "expected"),
    [
        ("  traffic: {rate: 5}", "analysis.traffic: give exactly one of urls"),
        ("  traffic: {urls: [/], journeys: j.yaml}", "analysis.traffic: give exactly one of urls"),
        ("  traffic: {urls: []}", "analysis.traffic.urls: name at least one path"),
        # a URL elsewhere than the router is never a target: only paths on the router (the string is not fetched)
        ("  traffic: {urls: ['http://10.0.0.1/']}", "expected a path on the router"),
        ("  traffic: {urls: ['//evil/']}", "expected a path on the router"),
        ("  traffic: {urls: ['/a b']}", "expected a path on the router"),
        ("  traffic: {urls: [/], rate: 0}", "analysis.traffic.rate"),
        ("  traffic: {urls: [/], rate: 150}", "300 requests per second, above max_rate 200"),
        ("  traffic: {urls: [/], duration: 0s}", "analysis.traffic.duration: expected a positive duration"),
        ("  traffic: {urls: [/], duration: soon}", "analysis.traffic.duration"),
        ("  traffic: {urls: [/], judge: users}", "analysis.traffic.judge"),
        ("  traffic: {urls: [/], headers: {X-Greenflag-Route: v1}}", "is set by greenflag"),
        ("  traffic: {urls: [/], headers: {x-greenflag-synthetic: k}}", "is set by greenflag"),
        ("  traffic: {urls: [/], headers: {'Bad Name': x}}", "is not a header name"),
        ('  traffic: {urls: [/], headers: {X-Test: "a\\r\\nX-Evil: 1"}}', "has a line break"),
        ("  traffic: {urls: [/], bogus: 1}", "analysis.traffic.bogus: unknown key"),
        ("  detect: {error_rate: 150%}", "analysis.detect.error_rate"),
        ("  detect: {error_rate: lots%}", "expected a percentage such as 1%"),
        ("  detect: {error_rate: lots}", "analysis.detect.error_rate"),
        ("  detect: {latency_ms: -5}", "analysis.detect.latency_ms"),
    ],
)
def test_refusals_name_the_key(tmp_path: Path, analysis: str, expected: str) -> None:
    problems = refused(tmp_path, analysis)
    assert expected in problems, problems
    assert "greenflag.yaml:" in problems  # the file and its line


def test_detect_takes_percentages(tmp_path: Path) -> None:
    spec = load(tmp_path, "  detect: {error_rate: 5%, latency_ms: 300}")
    assert spec.analysis.detect.error_rate == pytest.approx(0.05)  # type: ignore[attr-defined]
    assert load(tmp_path, "  detect: {error_rate: 0.02}").analysis.detect.error_rate == 0.02  # type: ignore[attr-defined]


@pytest.mark.parametrize("router", [HAPROXY, NGINX])
@pytest.mark.parametrize("judge", ["synthetic", "user"])
def test_routers_that_cannot_tag_refuse_separate_judgement(tmp_path: Path, router: str, judge: str) -> None:
    problems = refused(tmp_path, f"  traffic: {{urls: [/], judge: {judge}}}", router)
    assert "greenflag.yaml:7: analysis.traffic.judge: router.kind" in problems, problems
    assert "use judge: both" in problems
    spec = load(tmp_path, "  traffic: {urls: [/], judge: both}", router)  # judged together: allowed
    assert spec.analysis.judge == "both"  # type: ignore[attr-defined]
