"""The checklist calls the TLS and DNS checks with their real signatures (loopback ports nothing listens on: the
checks run and say why they could not check, instead of crashing or being unavailable)."""

from __future__ import annotations

from pathlib import Path

import yaml

from greenflag.config import load_spec
from greenflag.readiness.base import Status
from greenflag.readiness.checklist import run_checklist
from tests.support import free_port, release_spec

# every spec names how to start a version
PLATFORM = {"command": "greenflag demo-app --port {port} --version {version}"}


async def test_tls_and_dns_items_reach_their_checks(tmp_path: Path) -> None:
    readiness = {
        "tls": [{"host": f"127.0.0.1:{free_port()}", "min_grade": "A", "min_days": 30}],
        # nothing answers DNS there: the check would retry for tens of seconds, so its own timeout cuts it short
        "dns": [{"name": "shop.test", "nameservers": [f"127.0.0.1:{free_port()}"], "require_caa": True,
                 "timeout": "1s"}],
    }  # fmt: skip
    path = tmp_path / "greenflag.yaml"
    spec = release_spec("s", readiness=readiness)
    path.write_text(yaml.safe_dump(spec))
    tls, dns = await run_checklist(load_spec(path))
    assert tls.name == "tls" and tls.status is Status.ERROR and tls.findings[0].id == "tls.unreachable"
    assert dns.name == "dns" and dns.status is Status.ERROR and dns.findings[0].id == "dns.timeout"
