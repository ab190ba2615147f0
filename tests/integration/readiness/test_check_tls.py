"""`check tls` against one Debian nginx serving every configuration on its own 127.0.0.1 port, with certificates
this module makes (root → intermediate → leaf, `cryptography`). Each test asserts the grade the rating guide
(2009r) gives and the cap or warning that produced it.

RC4 and 3DES suites cannot be served here: Debian 12's OpenSSL 3.0 has neither (`openssl ciphers RC4` and
`3DES` match nothing, even at @SECLEVEL=0), so those caps are tested on recorded facts in tests/unit/test_tls_grade.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenflag.readiness.base import CheckResult
from greenflag.readiness.target import TargetOptions, parse_resolve
from greenflag.readiness.tls import check_tls
from tests.support import free_port, greenflag_cmd
from tests.tls_lab import Pki, Site, nginx_tls

LEGACY = "DEFAULT:@SECLEVEL=0"


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[dict[str, int], Pki]]:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        files_port = free_port()
        pki = Pki(directory, intermediate_url=f"http://127.0.0.1:{files_port}/intermediate.der")
        good = pki.leaf("good")
        dhparam = directory / "dh1024.pem"
        subprocess.run(["openssl", "dhparam", "-dsaparam", "-out", str(dhparam), "1024"], check=True,
                       capture_output=True)  # fmt: skip
        sites = [
            Site("modern", *good),
            Site("nohsts", *good, hsts=None),
            Site("shorthsts", *good, hsts="max-age=86400"),
            Site("tls12only", *good, protocols="TLSv1.2"),
            Site("tls10", *good, protocols="TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", ciphers=LEGACY),
            Site("rsa1024", *pki.leaf("rsa1024", key="rsa1024"), ciphers=LEGACY),
            Site("dhe1024", *good, ciphers="DHE-RSA-AES128-GCM-SHA256:" + LEGACY, extra=f"ssl_dhparam {dhparam};"),
            Site("ecdsa", *pki.leaf("ecdsa", key="ec256")),
            Site("sha1", *pki.leaf("sha1", digest="sha1"), ciphers=LEGACY),
            Site("expired", *pki.leaf("expired", days=(-100, -10))),
            Site("wrongname", *pki.leaf("wrongname", names=("other.example",))),
            Site("nointermediate", *pki.leaf("nointermediate", chain=False)),
            Site("selfsigned", *pki.leaf("selfsigned", self_signed=True)),
            Site("nonaead", *good, protocols="TLSv1.2", ciphers="AES128-SHA:AES256-SHA"),
        ]
        der = pki.intermediate.public_bytes(__import__("cryptography.hazmat.primitives.serialization",
                                            fromlist=["Encoding"]).Encoding.DER)  # fmt: skip
        with nginx_tls(sites, files={"intermediate.der": der}, files_port=files_port) as ports:
            yield ports, pki


async def scan(lab: tuple[dict[str, int], Pki], label: str, **kw: object) -> CheckResult:
    ports, pki = lab
    options = TargetOptions(ca_file=str(pki.root_pem), timeout_s=5)
    return await check_tls("localhost", ports[label], options=options, **kw)  # type: ignore[arg-type]


def caps(result: CheckResult) -> set[str]:
    return {c["id"] for c in result.evidence["rating"]["caps"]}


def warnings(result: CheckResult) -> set[str]:
    return {w["id"] for w in result.evidence["rating"]["warnings"]}


# label → (grade, caps, warnings): the table this module proves against real handshakes.
EXPECTED = {
    "modern": ("A+", set(), set()),
    "nohsts": ("A-", set(), {"hsts_missing"}),  # 2009r: missing HSTS is a warning, not a cap
    "shorthsts": ("A-", set(), {"hsts_short"}),
    "tls12only": ("A-", set(), {"no_tls13"}),  # 2009r: no TLS 1.3 is a warning
    "tls10": ("B", {"tls10_tls11"}, set()),
    "rsa1024": ("B", {"weak_key"}, set()),  # key exchange 80 (< 2048 bits) → cap B
    "dhe1024": ("B", {"weak_key"}, set()),  # 2009e: 1024-bit DH parameters bound the key-exchange score
    "ecdsa": ("A+", set(), set()),
    "sha1": ("T", {"sha1_signature"}, set()),
    "expired": ("T", {"expired"}, set()),
    "wrongname": ("M", {"name_mismatch"}, set()),
    "nointermediate": ("B", {"incomplete_chain"}, set()),  # trusted only through the AIA-fetched intermediate
    "selfsigned": ("T", {"untrusted"}, set()),
    "nonaead": ("B", {"no_aead", "no_forward_secrecy"}, {"no_tls13"}),
}


@pytest.mark.parametrize("label", list(EXPECTED))
async def test_grade_table(lab: tuple[dict[str, int], Pki], label: str) -> None:
    grade, expected_caps, expected_warnings = EXPECTED[label]
    result = await scan(lab, label)
    rating = result.evidence["rating"]
    assert result.grade == grade, json.dumps(rating, indent=1)
    assert caps(result) == expected_caps
    assert warnings(result) == expected_warnings
    assert rating["guide"] == "SSL Labs SSL Server Rating Guide 2009r"
    assert set(rating["scores"]) == {"protocol_support", "key_exchange", "cipher_strength", "final"}
    assert result.ok == (grade == "A+")  # the default minimum is A+


async def test_modern_facts(lab: tuple[dict[str, int], Pki]) -> None:
    result = await scan(lab, "modern")
    ev = result.evidence
    assert {k: v["offered"] for k, v in ev["protocols"].items()} == {
        "SSLv2": None, "SSLv3": False, "TLSv1.0": False, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": True}
    assert "not tested" in ev["protocols"]["SSLv2"]["note"]  # never claimed absent
    assert {s["name"] for s in ev["suites"]["TLSv1.2"]} == {
        "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"}
    assert {s["name"] for s in ev["suites"]["TLSv1.3"]} == {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                                            "TLS_CHACHA20_POLY1305_SHA256"}
    assert all(s["forward_secrecy"] and s["aead"] for suites in ev["suites"].values() for s in suites)
    cert = ev["certificate"]
    assert (cert["key_type"], cert["key_bits"], cert["signature_hash"]) == ("RSA", 2048, "sha256")
    assert cert["trusted"] and cert["chain_complete"] and cert["name_match"] and 88 < cert["days_left"] < 91
    assert cert["served_chain"] == ["localhost", "greenflag test intermediate"]
    assert ev["secure_renegotiation"] is True and ev["hsts"]["max_age"] == 63072000 and ev["hsts"]["preload"]
    assert ev["rating"]["scores"] == {"protocol_support": 100, "key_exchange": 90, "cipher_strength": 90, "final": 93}
    assert "tls.ocsp.not_stapled" in {f.id for f in result.findings}


async def test_legacy_protocol_suites_are_enumerated(lab: tuple[dict[str, int], Pki]) -> None:
    result = await scan(lab, "tls10")
    ev = result.evidence
    assert ev["protocols"]["TLSv1.0"]["offered"] and ev["protocols"]["TLSv1.1"]["offered"]
    names10 = {s["name"] for s in ev["suites"]["TLSv1.0"]}
    assert "ECDHE-RSA-AES128-SHA" in names10 and not any("GCM" in n for n in names10)  # no AEAD before TLS 1.2
    assert ev["rating"]["scores"]["protocol_support"] == 95  # (100 + 90) / 2


async def test_dh_size_is_read_from_the_key_exchange(lab: tuple[dict[str, int], Pki]) -> None:
    result = await scan(lab, "dhe1024")
    dhe = [s for s in result.evidence["suites"]["TLSv1.2"] if s["name"].startswith("DHE-")]
    assert dhe and all(s["dh_bits"] == 1024 for s in dhe)
    assert result.evidence["rating"]["scores"]["key_exchange"] == 80


async def test_trust_problems_keep_the_grade_they_hide(lab: tuple[dict[str, int], Pki]) -> None:
    expired = await scan(lab, "expired")
    assert expired.grade == "T" and expired.evidence["rating"]["grade_if_trusted"] == "A+"
    assert expired.evidence["certificate"]["trusted"]  # the chain is fine; only the dates are not
    wrong = await scan(lab, "wrongname")
    assert wrong.evidence["certificate"]["names"] == ["other.example"]


async def test_system_store_does_not_trust_a_private_ca(lab: tuple[dict[str, int], Pki]) -> None:
    ports, _ = lab
    result = await check_tls("localhost", ports["modern"], options=TargetOptions(timeout_s=5))
    assert result.grade == "T" and "untrusted" in caps(result)


async def test_resolve_and_sni_reach_the_right_site(lab: tuple[dict[str, int], Pki]) -> None:
    ports, pki = lab
    port = ports["modern"]
    options = TargetOptions(resolve=(parse_resolve(f"localhost:{port}:127.0.0.1"),), ca_file=str(pki.root_pem))
    assert (await check_tls("localhost", port, options=options)).grade == "A+"
    by_ip = await check_tls("127.0.0.1", port, sni="localhost", options=TargetOptions(ca_file=str(pki.root_pem)))
    assert by_ip.grade == "A+" and by_ip.evidence["server_name"] == "localhost"


async def test_min_grade_and_min_days(lab: tuple[dict[str, int], Pki]) -> None:
    assert (await scan(lab, "tls10", min_grade="B")).ok
    soon = await scan(lab, "modern", min_days=120)
    assert not soon.ok and "tls.cert.expires_soon" in {f.id for f in soon.findings}


async def test_unreachable_is_an_error() -> None:
    result = await check_tls("127.0.0.1", free_port(), options=TargetOptions(timeout_s=1))
    assert str(result.status) == "error" and not result.ok


def test_cli(lab: tuple[dict[str, int], Pki]) -> None:
    ports, pki = lab
    ok = subprocess.run(greenflag_cmd("check", "tls", f"localhost:{ports['modern']}", "--ca-file", str(pki.root_pem),
                                      "--json"), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    body = json.loads(ok.stdout)
    assert body["ok"] is True and body["grade"] == "A+" and body["score"] == 93.0
    bad = subprocess.run(greenflag_cmd("check", "tls", f"localhost:{ports['tls10']}", "--ca-file", str(pki.root_pem)),
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 4 and "tls.cap.tls10_tls11" in bad.stdout and "grade B" in bad.stdout
    for args in (["localhost:99999"], ["localhost", "--ca-file", "/nonexistent.pem"], ["localhost", "--resolve", "x"],
                 ["localhost", "--min-grade", "Z"]):  # fmt: skip
        usage = subprocess.run(greenflag_cmd("check", "tls", *args), capture_output=True, text=True, timeout=60)
        assert usage.returncode == 2 and usage.stderr.count("\n") == 1 and "Traceback" not in usage.stderr, args


@pytest.mark.skipif(shutil.which("testssl") is None, reason="testssl.sh (Debian package) not installed")
def test_protocols_agree_with_testssl(lab: tuple[dict[str, int], Pki]) -> None:
    """testssl.sh 3.0.8 (-p: protocols only, a few seconds) reads the same protocols on the same servers."""
    ports, pki = lab
    names = {"SSLv3": "SSLv3", "TLS1": "TLSv1.0", "TLS1_1": "TLSv1.1", "TLS1_2": "TLSv1.2", "TLS1_3": "TLSv1.3"}
    import asyncio

    for label in ("modern", "tls10"):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.json"
            subprocess.run(["testssl", "--quiet", "--color", "0", "-p", "--jsonfile", str(out), "--add-ca",
                            str(pki.root_pem), f"localhost:{ports[label]}"], capture_output=True, timeout=120)
            theirs = {names[x["id"]]: x["finding"].startswith("offered") for x in json.loads(out.read_text())
                      if x["id"] in names}  # fmt: skip
        ours = asyncio.run(scan(lab, label)).evidence["protocols"]
        assert theirs == {k: ours[k]["offered"] for k in theirs}, label
