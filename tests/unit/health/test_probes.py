"""The probe helpers that need no sockets."""

from __future__ import annotations

import pytest

from greenflag.health.probes import ExecProbe, HttpProbe, TcpProbe, check_json_field, make_probe
from greenflag.spec import ProbeSpec


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"status": "ok"}, "status=ok", None),
        ({"status": "down"}, "status=ok", "is 'down', expected 'ok'"),
        ({"db": {"up": True}}, "db.up", None),
        ({"db": {"up": False}}, "db.up", "is False"),
        ({"checks": [{"ok": 1}]}, "checks.0.ok=1", None),
        ({}, "status", "missing"),
    ],
)
def test_json_field(body: object, field: str, problem: str | None) -> None:
    result = check_json_field(body, field)
    assert (result is None) if problem is None else (result is not None and problem in result)


def test_make_probe_picks_the_kind() -> None:
    http = make_probe(ProbeSpec(http="/healthz", expect_status=[200], timeout=2.0))
    assert isinstance(http, HttpProbe) and http.url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/healthz"
    assert isinstance(make_probe(ProbeSpec(tcp=True)), TcpProbe)
    assert isinstance(make_probe(ProbeSpec(exec=["true"])), ExecProbe)
    assert TcpProbe.address("tcp://127.0.0.1:9") == ("127.0.0.1", 9)
    assert TcpProbe.address("http://localhost/x") == ("localhost", 80)
    assert TcpProbe.address("127.0.0.1:8080") == ("127.0.0.1", 8080)


def test_http_judgement_order() -> None:
    probe = HttpProbe(expect_status=[200], body_contains="ok", max_latency=0.5)
    assert probe._judge(200, b"all ok", 0.1) is None
    assert "503" in (probe._judge(503, b"ok", 0.1) or "")
    assert "does not contain" in (probe._judge(200, b"fine", 0.1) or "")
    assert "over 500 ms" in (probe._judge(200, b"ok", 0.9) or "")
