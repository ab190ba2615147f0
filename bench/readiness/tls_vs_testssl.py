"""`greenflag check tls` vs testssl.sh on the same nginx hosts, side by side in one run.

For each host: the full scan of each tool (testssl.sh `--full`: protocols, cipher categories, cipher per
protocol, server defaults, headers, vulnerabilities, client simulation; greenflag `check tls --json`), each run
pinned to core 1 with taskset while nginx runs on core 0; the median wall time of --runs runs; then the findings
both tools test, compared: protocols offered, suites per protocol, certificate key/signature/trust/expiry, HSTS,
secure renegotiation, OCSP stapling.

    python3 bench/readiness/tls_vs_testssl.py            # 2 hosts x 3 runs (about 10 minutes: testssl is slow)
    python3 bench/readiness/tls_vs_testssl.py --runs 1 --hosts modern
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from bench.common import run_pinned  # noqa: E402
from tests.tls_lab import Pki, Site, nginx_tls  # noqa: E402

PROTOCOLS = {"SSLv2": "SSLv2", "SSLv3": "SSLv3", "TLS1": "TLSv1.0", "TLS1_1": "TLSv1.1", "TLS1_2": "TLSv1.2",
             "TLS1_3": "TLSv1.3"}  # fmt: skip
TS_PROTO = {"ssl3": "SSLv3", "tls1": "TLSv1.0", "tls1_1": "TLSv1.1", "tls1_2": "TLSv1.2", "tls1_3": "TLSv1.3"}


def testssl_facts(items: list[dict[str, str]]) -> dict[str, object]:
    by_id = {x["id"]: x["finding"] for x in items}
    suites: dict[str, set[str]] = {}
    for x in items:  # cipher-tls1_2_xc02f: "TLSv1.2   xc02f   ECDHE-RSA-AES128-GCM-SHA256 ..."
        if x["id"].startswith("cipher-") and "_x" in x["id"]:
            proto, code = x["id"][len("cipher-"):].rsplit("_x", 1)
            if proto in TS_PROTO:
                suites.setdefault(TS_PROTO[proto], set()).add(f"0x{int(code, 16):04X}")
    return {
        "protocols": {name: by_id.get(key, "").startswith("offered") for key, name in PROTOCOLS.items()},
        "suites": suites,
        "key": by_id.get("cert_keySize", ""),
        "signature": by_id.get("cert_signatureAlgorithm", ""),
        "chain_of_trust": by_id.get("cert_chain_of_trust", ""),
        "not_after": by_id.get("cert_notAfter", ""),
        "hsts": by_id.get("HSTS_time", ""),
        "secure_renegotiation": by_id.get("secure_renego", ""),
        "ocsp_stapling": by_id.get("OCSP_stapling", ""),
    }


def greenflag_facts(body: dict[str, object]) -> dict[str, object]:
    ev = body["evidence"]
    assert isinstance(ev, dict)
    cert = ev["certificate"]
    return {
        "protocols": {k: v["offered"] for k, v in ev["protocols"].items()},
        "suites": {k: {s["code"] for s in v} for k, v in ev["suites"].items()},
        "key": f"{cert['key_type']} {cert['key_bits']} bits",
        "signature": cert["signature_hash"],
        "chain_of_trust": "passed" if cert["trusted"] else cert["trust_error"],
        "not_after": cert["not_after"],
        "hsts": (ev["hsts"] or {}).get("max_age"),
        "secure_renegotiation": ev["secure_renegotiation"],
        "ocsp_stapling": cert["ocsp_stapled"],
        "grade": body["grade"],
    }


def compare(ours: dict[str, object], theirs: dict[str, object]) -> list[str]:
    lines = []
    for key in ("protocols", "suites"):
        a, b = ours[key], theirs[key]
        assert isinstance(a, dict) and isinstance(b, dict)
        for name in sorted(set(a) | set(b)):
            if key == "protocols" and a.get(name) is None:
                lines.append(f"  {key} {name}: greenflag not tested, testssl {b.get(name)}")
            elif a.get(name, set() if key == "suites" else False) != b.get(name, set() if key == "suites" else False):
                mine, other = a.get(name), b.get(name)
                if key == "suites":
                    mine, other = sorted(mine or []), sorted(other or [])
                lines.append(f"  DIFF {key} {name}: greenflag {mine} testssl {other}")
            else:
                lines.append(f"  same {key} {name}: {len(a.get(name) or ()) if key == 'suites' else a.get(name)}"
                             + (" suites" if key == "suites" else ""))
    for key in ("key", "signature", "chain_of_trust", "not_after", "hsts", "secure_renegotiation", "ocsp_stapling"):
        lines.append(f"  {key}: greenflag {ours[key]!r} | testssl {theirs[key]!r}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hosts", default="modern,legacy")
    args = parser.parse_args()
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    if testssl is None:
        sys.exit("testssl.sh is not installed (apt-get install testssl.sh)")
    with tempfile.TemporaryDirectory() as tmp:
        pki = Pki(Path(tmp))
        good = pki.leaf("good")
        sites = {"modern": Site("modern", *good),
                 "legacy": Site("legacy", *good, protocols="TLSv1 TLSv1.1 TLSv1.2 TLSv1.3",
                                ciphers="DEFAULT:@SECLEVEL=0", hsts=None)}  # fmt: skip
        chosen = [sites[h] for h in args.hosts.split(",")]
        with nginx_tls(chosen) as ports:  # nginx itself is not pinned: it uses 1 worker; the scanners use core 1
            ratios = []
            for site in chosen:
                target = f"localhost:{ports[site.label]}"
                gf_times, ts_times = [], []
                gf_body: dict[str, object] = {}
                ts_items: list[dict[str, str]] = []
                for _ in range(args.runs):  # interleaved: one greenflag run, one testssl run
                    gf = run_pinned([sys.executable, "-m", "greenflag", "check", "tls", target, "--ca-file",
                                     str(pki.root_pem), "--json"], core=1)  # fmt: skip
                    gf_times.append(gf.wall_s)
                    # stdout and stderr are merged: the JSON comes first, then (exit 4) the one-line verdict
                    gf_body = json.JSONDecoder().raw_decode(gf.stdout[gf.stdout.index("{"):])[0]
                    out = Path(tmp) / f"{site.label}.json"
                    out.unlink(missing_ok=True)
                    ts = run_pinned([testssl, "--full", "--quiet", "--color", "0", "--warnings", "off", "--jsonfile",
                                     str(out), "--add-ca", str(pki.root_pem), target], core=1, timeout=900)
                    ts_times.append(ts.wall_s)
                    ts_items = json.loads(out.read_text())
                gf_med, ts_med = statistics.median(gf_times), statistics.median(ts_times)
                ratios.append(ts_med / gf_med)
                print(f"{site.label} ({target}): greenflag {gf_med:.2f} s (grade {gf_body['grade']}), testssl.sh "
                      f"{ts_med:.1f} s; greenflag is {ts_med / gf_med:.0f}x faster  (median of {args.runs}; runs "
                      f"greenflag {[round(t, 2) for t in gf_times]}, testssl {[round(t, 1) for t in ts_times]})")
                for line in compare(greenflag_facts(gf_body), testssl_facts(ts_items)):
                    print(line)
            print(f"speed-up over testssl.sh --full: min {min(ratios):.0f}x (goal >= 10x)")


if __name__ == "__main__":
    main()
