"""`check dns` against real authoritative servers: NSD processes on 127.0.0.x, consistent and inconsistent zones.

No root server or public resolver can be reached from here, so discovery (zone → NS set → addresses, which needs
recursion from the root) is not exercised: the tests hand the authoritative servers over with --nameserver, and
the "resolvers" compared for propagation are authoritative NSD servers answering recursive queries for their own
zone — standing in for public resolvers that hold fresh or stale copies.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator

import pytest

from greenflag.readiness.dns import check_dns
from tests.dns_lab import nsd_server, zone_text
from tests.support import greenflag_cmd

ZONE = "example.test"


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """ns1, ns2: the same zone; stale: an older serial with another www address; nocaa: consistent but no CAA;
    lame: serves only another zone (REFUSED for ours)."""
    with contextlib.ExitStack() as stack:
        out = {
            "ns1": stack.enter_context(nsd_server({ZONE: zone_text(ZONE)}, "127.0.0.1")),
            "ns2": stack.enter_context(nsd_server({ZONE: zone_text(ZONE)}, "127.0.0.2")),
            "stale": stack.enter_context(nsd_server({ZONE: zone_text(ZONE, serial=2023120101, www="127.0.0.99",
                                                                     rname="admin")}, "127.0.0.3")),
            "lame": stack.enter_context(nsd_server({"other.test": zone_text("other.test")}, "127.0.0.4")),
            "nocaa1": stack.enter_context(nsd_server({"nocaa.test": zone_text("nocaa.test", caa=False)}, "127.0.0.5")),
            "nocaa2": stack.enter_context(nsd_server({"nocaa.test": zone_text("nocaa.test", caa=False)}, "127.0.0.6")),
        }  # fmt: skip
        yield out


def ids(result: object) -> set[str]:
    return {f.id for f in result.findings}  # type: ignore[attr-defined]


async def test_consistent_zone_passes(servers: dict[str, str]) -> None:
    result = await check_dns(f"www.{ZONE}", nameservers=[servers["ns1"], servers["ns2"]])
    assert result.ok and str(result.status) == "pass", result.to_json()
    views = result.evidence["authoritative"]
    assert [v["soa"]["serial"] for v in views] == [2024010101, 2024010101]
    assert views[0]["answers"]["A"] == {"records": ["127.0.0.10"], "ttl": 300, "rcode": "NOERROR"}
    assert result.evidence["zone"] == "example.test."
    assert result.evidence["caa_owner"] == "example.test." and 'issue "letsencrypt.org"' in result.evidence["caa"][1]


async def test_mismatching_serial_and_answers_fail(servers: dict[str, str]) -> None:
    result = await check_dns(f"www.{ZONE}", nameservers=[servers["ns1"], servers["stale"]])
    assert not result.ok
    found = ids(result)
    assert {"dns.consistency.serial", "dns.consistency.rname", "dns.consistency.a"} <= found
    serial = next(f for f in result.findings if f.id == "dns.consistency.serial")
    assert "2024010101" in serial.message and "2023120101" in serial.message and servers["stale"] in serial.message
    assert "dns.consistency.ns" not in found  # the NS sets are the same


async def test_lame_delegation_is_flagged(servers: dict[str, str]) -> None:
    result = await check_dns(f"www.{ZONE}", nameservers=[servers["ns1"], servers["ns2"], servers["lame"]])
    assert not result.ok
    lame = [f for f in result.findings if f.id == "dns.lame_delegation"]
    assert len(lame) == 1 and servers["lame"] in lame[0].message and "REFUSED" in lame[0].message


async def test_missing_caa_warns_or_fails_when_required(servers: dict[str, str]) -> None:
    pair = [servers["nocaa1"], servers["nocaa2"]]
    warned = await check_dns("www.nocaa.test", nameservers=pair)
    assert warned.ok and str(warned.status) == "warn" and "dns.caa.missing" in ids(warned)
    failed = await check_dns("www.nocaa.test", nameservers=pair, require_caa=True)
    assert not failed.ok and "dns.caa.missing" in ids(failed)


async def test_propagation_compares_resolvers_with_ttls(servers: dict[str, str]) -> None:
    result = await check_dns(f"www.{ZONE}", nameservers=[servers["ns1"], servers["ns2"]],
                             resolvers=[servers["ns1"], servers["stale"]])  # fmt: skip
    assert result.ok and str(result.status) == "warn"  # resolvers converge by themselves: a warning
    pending = [f for f in result.findings if f.id == "dns.propagation.pending"]
    assert {f.evidence["resolver"] for f in pending} == {servers["stale"]}
    assert {f.evidence["type"] for f in pending} == {"A"} and pending[0].evidence["ttl"] == 300
    assert result.evidence["propagation_wait_s"] == 300
    strict = await check_dns(f"www.{ZONE}", nameservers=[servers["ns1"], servers["ns2"]],
                             resolvers=[servers["stale"]], require_propagation=True)  # fmt: skip
    assert not strict.ok


async def test_cname_is_compared(servers: dict[str, str]) -> None:
    result = await check_dns(f"alias.{ZONE}", nameservers=[servers["ns1"], servers["ns2"]])
    assert result.ok
    assert result.evidence["authoritative"][0]["answers"]["CNAME"]["records"] == ["www.example.test."]


async def test_unreachable_servers_are_an_error(servers: dict[str, str]) -> None:
    result = await check_dns(f"www.{ZONE}", nameservers=["127.0.0.1:9"], options=__import__(
        "greenflag.readiness.target", fromlist=["TargetOptions"]).TargetOptions(timeout_s=0.5))
    assert str(result.status) == "error" and "dns.no_authoritative_answer" in ids(result)


def test_cli_exit_codes_and_json(servers: dict[str, str]) -> None:
    ok = subprocess.run(greenflag_cmd("check", "dns", f"www.{ZONE}", "--nameserver", servers["ns1"], "--nameserver",
                                      servers["ns2"], "--json"), capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    body = json.loads(ok.stdout)
    assert body["ok"] is True and body["check"] == "dns" and isinstance(body["findings"], list)
    bad = subprocess.run(greenflag_cmd("check", "dns", f"www.{ZONE}", "--nameserver", servers["ns1"], "--nameserver",
                                       servers["stale"]), capture_output=True, text=True, timeout=60)
    assert bad.returncode == 4 and "dns.consistency.serial" in bad.stdout
    usage = subprocess.run(greenflag_cmd("check", "dns", "www.example.test", "--nameserver", "127.0.0.1:99999"),
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1 and "--nameserver" in usage.stderr
