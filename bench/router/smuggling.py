"""Request smuggling, side by side: the public corpus through greenflag's router, HAProxy and nginx.

    python3 bench/router/smuggling.py [--proxies greenflag,haproxy,nginx] [--json out.json]

Each proxy in turn (its own process, defaults as a user would deploy it: keep-alive to the backend, the client
address in X-Forwarded-For) in front of a fresh strict recording HTTP/1.1 backend (RFC 9112 framing; the test
suite's), and every case of tests/data/http-smuggling/cases.json through it, in concurrent batches, each from its
own loopback address. A case passes when the backend parsed no request whose answer did not reach that client,
the client got an answer or a close within 5 s, and the case's own `expect` holds (SOURCES.md there defines
them). Prints a table per category and expect kind, and the failing cases of each proxy. Correctness, not
speed: nothing is pinned. Every server binds to 127.0.0.1 on an ephemeral port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: the test suite's corpus runner
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import free_port
from run import wait_port
from tests.integration.traffic.smuggling_corpus import Case, load_cases, run_corpus
from tests.integration.traffic.strict_backend import StrictBackend

HAPROXY_CONF = """global
  maxconn 4000
defaults
  mode http
  option http-keep-alive
  option forwardfor
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-request 10s
frontend f
  bind 127.0.0.1:{port}
  default_backend b
backend b
  server s1 127.0.0.1:{backend}
"""
NGINX_CONF = """worker_processes 1; master_process off; daemon off; error_log {dir}/proxy.err; pid {dir}/p.pid;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {dir}; proxy_temp_path {dir};
  upstream b {{ server 127.0.0.1:{backend}; keepalive 64; }}
  server {{ listen 127.0.0.1:{port};
    location / {{ proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }} }} }}
"""


def command(name: str, port: int, backend: int, tmp: Path) -> list[str]:
    if name == "greenflag":
        return [sys.executable, "-m", "greenflag", "router", "serve", "--listen", f"127.0.0.1:{port}",
                "--backend", f"b=http://127.0.0.1:{backend}", "--no-admin"]  # fmt: skip
    if name == "haproxy":
        (tmp / "haproxy.cfg").write_text(HAPROXY_CONF.format(port=port, backend=backend))
        return [shutil.which("haproxy") or "/usr/sbin/haproxy", "-db", "-f", str(tmp / "haproxy.cfg")]
    (tmp / "nginx.conf").write_text(NGINX_CONF.format(dir=tmp, port=port, backend=backend))
    return [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp)]


@contextlib.contextmanager
def proxy(cmd: list[str], port: int) -> Iterator[None]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def one_proxy(name: str, cases: list[Case], tmp: Path) -> dict[str, str | None]:
    """case id → None (passed) or why it failed."""
    backend = StrictBackend()
    await backend.start()
    port = free_port()
    try:
        with proxy(command(name, port, backend.port, tmp), port):
            results = await run_corpus(cases, "127.0.0.1", port, backend)
    finally:
        await backend.stop()
    return {outcome.case.id: why for outcome, why in results}


def table(cases: list[Case], verdicts: dict[str, dict[str, str | None]]) -> str:
    names = list(verdicts)
    groups: dict[tuple[str, str], list[Case]] = defaultdict(list)
    for case in cases:
        groups[(case.category, case.kind)].append(case)
    lines = ["| category | expect | cases | " + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
    for (category, kind), members in sorted(groups.items()):
        cells = [f"{sum(verdicts[n].get(c.id) is None for c in members)}/{len(members)}" for n in names]
        lines.append(f"| {category} | {kind} | {len(members)} | " + " | ".join(cells) + " |")
    totals = [f"**{sum(v is None for v in verdicts[n].values())}/{len(verdicts[n])}**" for n in names]
    lines.append(f"| all | | {len(cases)} | " + " | ".join(totals) + " |")
    return "\n".join(lines)


def failures(verdicts: dict[str, dict[str, str | None]]) -> str:
    out = []
    for name, results in verdicts.items():
        failed = {cid: why for cid, why in results.items() if why is not None}
        out.append(f"\n{name}: {len(failed)} failed")
        reasons = Counter(str(why).split(":")[0] for why in failed.values())
        for reason, count in reasons.most_common():
            ids = [cid.split("#")[0] for cid, why in failed.items() if str(why).split(":")[0] == reason]
            out.append(f"  {reason} ({count}): {', '.join(ids)}")
    return "\n".join(out)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proxies", default="greenflag,haproxy,nginx")
    parser.add_argument("--json", type=Path, help="write every verdict (proxy → case id → reason or null)")
    args = parser.parse_args()
    cases = load_cases()
    verdicts: dict[str, dict[str, str | None]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        for name in args.proxies.split(","):
            verdicts[name] = await one_proxy(name, cases, Path(tmp_name))
            print(f"{name}: {sum(v is None for v in verdicts[name].values())}/{len(cases)} passed", flush=True)
    print("\n" + table(cases, verdicts))
    print(failures(verdicts))
    if args.json:
        args.json.write_text(json.dumps(verdicts, indent=1, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
