"""The examples in docs/check-tls.md and docs/check-dns.md, run as written against local servers (nginx with a
private CA; NSD). Only the ports and the CA path are substituted; examples against public hosts are skipped
(no internet here). The docs suite marks these blocks, and the same --help examples, as checked here."""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import subprocess
import tempfile
from pathlib import Path

from tests.dns_lab import nsd_server, zone_text
from tests.support import ROOT, greenflag_cmd
from tests.tls_lab import Pki, Site, nginx_tls


def commands(page: str) -> list[str]:
    text = (ROOT / "docs" / page).read_text()
    return [line[2:] for block in re.findall(r"```console\n(.*?)```", text, re.S) for line in block.splitlines()
            if line.startswith("$ greenflag ")]  # fmt: skip


def sample_ids(page: str) -> list[str]:
    text = (ROOT / "docs" / page).read_text()
    return re.findall(r"\] ([a-z0-9_.]+):", text.split("```console", 2)[1])


def run(line: str, replace: dict[str, str]) -> subprocess.CompletedProcess[str]:
    for old, new in replace.items():
        line = line.replace(old, new)
    return subprocess.run(greenflag_cmd(*shlex.split(line)[1:]), capture_output=True, text=True, timeout=120)


def test_check_tls_page_examples() -> None:
    lines = commands("check-tls.md")
    expected = [0, 4, 0, 0, 4]  # as the page says: the default A+ minimum fails a B, the system store a private CA
    assert len(lines) == len(expected), lines
    with tempfile.TemporaryDirectory() as tmp:
        pki = Pki(Path(tmp))
        cert = pki.leaf("docs", names=("localhost", "shop.example.test"))
        site = Site("docs", *cert, protocols="TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", ciphers="DEFAULT:@SECLEVEL=0", hsts=None)
        with nginx_tls([site]) as ports:
            replace = {"8443": str(ports["docs"]), "ca.pem": str(pki.root_pem)}
            results = [run(line, replace) for line in lines]
    for line, result, code in zip(lines, results, expected, strict=True):
        assert result.returncode == code, (line, result.stdout, result.stderr)
    first = results[0].stdout
    assert "grade B" in first and "final 91" in first
    assert all(finding in first for finding in sample_ids("check-tls.md"))
    body = json.loads(results[1].stdout)
    assert body["grade"] == "B" and body["evidence"]["rating"]["caps"][0]["id"] == "tls10_tls11"
    assert "tls.cap.untrusted" in results[4].stdout


def test_check_dns_page_examples() -> None:
    lines = commands("check-dns.md")
    assert len(lines) == 3, lines
    zone = "example.test"
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(nsd_server({zone: zone_text(zone)}, "127.0.0.1")),
                   stack.enter_context(nsd_server({zone: zone_text(zone)}, "127.0.0.2")),
                   stack.enter_context(nsd_server({zone: zone_text(zone, serial=2023120101, www="127.0.0.99")},
                                                  "127.0.0.3"))]  # fmt: skip
        replace = {f"127.0.0.{i + 1}:5301": address for i, address in enumerate(servers)}
        results = [run(line, replace) for line in lines]
    assert [r.returncode for r in results] == [0, 4, 0], [r.stdout + r.stderr for r in results]
    assert all(finding in results[1].stdout for finding in sample_ids("check-dns.md"))
    body = json.loads(results[2].stdout)
    assert body["status"] == "warn" and body["evidence"]["propagation_wait_s"] == 300


def test_the_help_examples_skipped_by_the_docs_suite_run_here() -> None:
    """The --help examples the docs suite skips for want of this lab are commands of the pages, run above."""
    from tests.docs.jobs import SKIP, help_examples

    for module, page in (("greenflag.cli.check.tls", "check-tls.md"), ("greenflag.cli.check.dns", "check-dns.md")):
        lab = [e for e in help_examples(module) if Path(__file__).name in SKIP.get(e, "")]
        assert lab and set(lab) <= set(commands(page)), (module, lab)
