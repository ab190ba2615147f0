"""The seed profile: 1,000 concurrent users (browse, contact form with CSRF, API, live SSE streams) against
`greenflag demo-app` for 5 minutes (users arrive over the first 30 s) on this machine, the load engine and the
service each pinned to one core.

    python bench/seed_profile/run.py                       # the 5-minute profile
    python bench/seed_profile/run.py --duration 30s        # a quick look
    python bench/seed_profile/run.py --vus 10000 --duration 1m --sse-interval-ms 5000   # memory per VU

Prints req/min, p95, the engine's peak RSS, and the ratios to the targets (≥ 10,000 req/min, p95 < 2 s).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET_RPM = 10_000
TARGET_P95_MS = 2_000


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def start_app(cpu: str, workdir: Path, sse_interval_ms: int) -> tuple[subprocess.Popen[bytes], str]:
    cmd = ["taskset", "-c", cpu, sys.executable, "-m", "greenflag", "demo-app", "--port", "0"]
    cmd += ["--version", "seed", "--db", str(workdir / "demo.sqlite3"), "--sse-interval-ms", str(sse_interval_ms)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    buffer = b""
    while b"\n" not in buffer:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"demo-app did not start: {buffer!r}")
        if select.select([proc.stdout], [], [], 0.2)[0]:
            buffer += os.read(proc.stdout.fileno(), 4096)
    return proc, buffer.split(b"\n", 1)[0].decode().strip().removeprefix("listening on ")


def run_load(cpu: str, url: str, args: argparse.Namespace, out: Path) -> tuple[int, float, float]:
    cmd = ["taskset", "-c", cpu, sys.executable, "-m", "greenflag", "load", "run", str(HERE / "seed.py")]
    from greenflag.units import parse_duration

    total = parse_duration(args.duration)
    ramp = min(30.0, total / 5)  # users arrive over the first 30 s (a herd of 1,000 connects is not a profile)
    stages = [f"{ramp:g}s:{args.vus}", f"{total - ramp:g}s:{args.vus}"]
    cmd += ["--host", url, "--stage", stages[0], "--stage", stages[1], "--quiet"]
    cmd += ["--summary-json", str(out), "--graceful-stop", "5s"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = 0.0
    samples: list[float] = []
    while proc.poll() is None:
        value = rss_mb(proc.pid)
        peak = max(peak, value)
        samples.append(value)
        time.sleep(0.5)
    output = proc.stdout.read().decode() if proc.stdout else ""
    if not out.exists():
        raise SystemExit(f"the load run failed (exit {proc.returncode}):\n{output}")
    if args.verbose:
        print(output)
    steady = sorted(samples)[len(samples) // 2] if samples else 0.0
    return proc.returncode, peak, steady


def report(summary: dict[str, Any], code: int, peak: float, steady: float, app_rss: float, vus: int) -> None:
    metrics = summary["metrics"]
    rpm = metrics["http_reqs"]["rate"] * 60
    p95 = metrics["http_req_duration"]["p95"]
    p95_latency = metrics["http_req_latency"]["p95"]
    failed = metrics["http_req_failed"]["rate"]
    print(f"\n  seed profile: {vus} VUs for {summary['duration_s']:.0f}s (exit {code})")
    count = metrics["http_reqs"]["count"]
    print(f"  requests          {count} ({rpm:,.0f} req/min)   ratio to 10,000/min: {rpm / TARGET_RPM:.2f}x")
    print(f"  p95 duration  {p95:.1f} ms (from schedule {p95_latency:.1f} ms)  ratio to 2 s: {p95 / TARGET_P95_MS:.3f}")
    print(f"  failed            {failed * 100:.3f}%")
    for name in ("sse_events", "sse_reconnects"):
        if name in metrics:
            print(f"  {name:<17} {metrics[name]['count']:.0f}")
    if "sse_time_to_first_event" in metrics:
        print(f"  sse first event   p95 {metrics['sse_time_to_first_event']['p95']:.1f} ms")
    print(f"  engine RSS        peak {peak:.0f} MB, median {steady:.0f} MB ({peak * 1024 / max(vus, 1):.1f} kB per VU)")
    print(f"  demo-app RSS      {app_rss:.0f} MB")
    state = "SATURATED" if summary.get("generator_saturated") else "ok"
    print(f"  generator         {state} {summary.get('generator')}")
    checks = ", ".join(f"{k} {v['passes']}/{v['passes'] + v['fails']}" for k, v in summary["checks"].items())
    print(f"  checks            {checks}")
    if summary.get("script_errors"):
        print(f"  script errors     {summary['script_errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vus", type=int, default=1000)
    parser.add_argument("--duration", default="5m")
    parser.add_argument("--engine-cpu", default="0")
    parser.add_argument("--app-cpu", default="1")
    parser.add_argument("--sse-interval-ms", type=int, default=500)
    parser.add_argument("--summary-json", type=Path, default=None)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        app, url = start_app(args.app_cpu, workdir, args.sse_interval_ms)
        try:
            out = args.summary_json or workdir / "summary.json"
            code, peak, steady = run_load(args.engine_cpu, url, args, out)
            app_rss = rss_mb(app.pid)
        finally:
            os.killpg(app.pid, signal.SIGTERM)
            app.wait(timeout=30)
        report(json.loads(out.read_text()), code, peak, steady, app_rss, args.vus)


if __name__ == "__main__":
    main()
